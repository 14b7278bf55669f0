// Reads a Parquet file with hyparquet (a JavaScript reader independent of Parquet.Net) and prints one JSON object:
// the row counts of its row groups, its key/value metadata, its created_by, and every row. Binary values are printed
// as {"base64": ...}; BigInts as numbers. Usage: node parquet-read.mjs HYPARQUET_DIR FILE.parquet
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [dir, file] = process.argv.slice(2)
const hyparquet = await import(pathToFileURL(path.join(dir, 'src', 'node.js')).href)
const buffer = await hyparquet.asyncBufferFromFile(file)
const metadata = await hyparquet.parquetMetadataAsync(buffer)
// utf8: false keeps columns without a UTF8/STRING annotation (the image bytes) as bytes.
const rows = await hyparquet.parquetReadObjects({ file: buffer, utf8: false })
const out = {
  created_by: metadata.created_by ?? null,
  row_groups: metadata.row_groups.map(g => Number(g.num_rows)),
  key_value_metadata: Object.fromEntries((metadata.key_value_metadata ?? []).map(kv => [kv.key, kv.value ?? null])),
  rows,
}
process.stdout.write(JSON.stringify(out, (_, v) =>
  v instanceof Uint8Array ? { base64: Buffer.from(v).toString('base64') } : typeof v === 'bigint' ? Number(v) : v))
process.stdout.write('\n')
