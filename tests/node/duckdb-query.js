// Runs one SQL query with DuckDB and prints its rows as a JSON array (BIGINT values as strings).
// The tests use it to run the queries the docs show, exactly as written there.
// Usage: node duckdb-query.js SQL
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const [sql] = process.argv.slice(2);
  if (!sql) {
    console.error('usage: node duckdb-query.js SQL');
    process.exit(2);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const rows = (await connection.runAndReadAll(sql)).getRowObjectsJson();
  connection.closeSync();
  instance.closeSync();
  process.stdout.write(JSON.stringify(rows) + '\n');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
