// Reads an offloaded ledger's Parquet object with DuckDB, a reader independent of Parquet.Net, and prints
// one JSON object: the row count, the columns with DuckDB's types, and every row (ordered by entry_id,
// batch_index) with the columns a query of a topic's history would use.
// Usage: node read-parquet.js FILE [LIMIT]   (LIMIT: at most this many rows printed; default 1000)
// BIGINT values come out as strings (JSON numbers cannot hold every int64).
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const [file, limitText] = process.argv.slice(2);
  const limit = limitText === undefined ? 1000 : Number(limitText);
  if (!file || !(limit >= 0)) {
    console.error('usage: node read-parquet.js FILE [LIMIT]');
    process.exit(2);
  }
  const source = `read_parquet('${file.replaceAll("'", "''")}')`;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const query = async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJson();

  const [{ n }] = await query(`SELECT count(*) AS n FROM ${source}`);
  const columns = (await query(`DESCRIBE SELECT * FROM ${source}`))
    .map((c) => ({ name: c.column_name, type: c.column_type }));
  const rows = await query(`
    SELECT ledger_id, entry_id, batch_index, batch_size, key,
           cardinality(properties) AS property_count,
           properties['color'] AS color,
           producer_name,
           epoch_ms(publish_time) AS publish_time_ms,
           event_time IS NULL AS event_time_null,
           epoch_ms(event_time) AS event_time_ms,
           epoch_ms(deliver_at) AS deliver_at_ms,
           sequence_id,
           octet_length(payload) AS payload_length,
           CASE WHEN octet_length(payload) <= 64 THEN hex(payload) END AS payload_hex,
           entry_frame IS NULL AS frame_null,
           payload_offset
    FROM ${source}
    ORDER BY entry_id, batch_index
    LIMIT ${limit}`);
  connection.closeSync();
  instance.closeSync();
  process.stdout.write(JSON.stringify({ rows: String(n), columns, sample: rows }) + '\n');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
