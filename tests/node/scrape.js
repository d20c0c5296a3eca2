// Scrapes a Prometheus text endpoint and prints what an independent parser (parse-prometheus-text-format)
// makes of it, as JSON: [{name, type, help, metrics: [{labels, value | buckets, count, sum}]}].
// Usage: node scrape.js URL   (URL like http://127.0.0.1:8080/metrics)
// Exits 1 when the endpoint does not answer 200 or the text does not parse.
'use strict';
const parse = require('parse-prometheus-text-format');

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node scrape.js URL');
  process.exit(2);
}

(async () => {
  const response = await fetch(url);
  if (response.status !== 200) {
    console.error(`${url} answered ${response.status}`);
    process.exit(1);
  }
  const contentType = response.headers.get('content-type') || '';
  if (!contentType.startsWith('text/plain')) {
    console.error(`${url} answered content type '${contentType}', not the Prometheus text format`);
    process.exit(1);
  }
  console.log(JSON.stringify(parse(await response.text())));
})().catch(e => {
  console.error(e.stack || String(e));
  process.exit(1);
});
