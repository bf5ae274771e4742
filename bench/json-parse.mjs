// The replay baseline: read a trace file and JSON.parse every line, nothing else.
// Usage: node bench/json-parse.mjs FILE   (prints the number of records)
import {createReadStream} from 'node:fs'

let carry = ''
let n = 0
for await (const chunk of createReadStream(process.argv[2], {encoding: 'utf8', highWaterMark: 1 << 16})) {
  const parts = (carry + chunk).split('\n')
  carry = parts.pop() ?? ''
  for (const line of parts) if (line !== '') {
    JSON.parse(line)
    n++
  }
}
if (carry !== '') {
  JSON.parse(carry)
  n++
}
process.stdout.write(`${n}\n`)
