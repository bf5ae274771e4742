// docs/trace-format.md, its schema and its sample agree: the sample shows one record of each kind
// the schema knows, and every one of them is valid.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {assertValidRecords} from '../helpers/schema.js'

const doc = (name: string): string => readFileSync(fileURLToPath(new URL(`../../docs/${name}`, import.meta.url)), 'utf8')

describe('the trace format (docs/)', () => {
  it('the sample is valid against the schema and shows every record type the page lists', () => {
    const records = doc('trace-sample.jsonl').split('\n').filter(Boolean).map((l) => JSON.parse(l) as {type: string; kind?: string})
    assertValidRecords(records)
    const listed = [...doc('trace-format.md').matchAll(/^\| `(header|sandbox|event|lost|finding|footer)` \|/gm)].map((m) => m[1])
    assert.deepEqual(listed, ['header', 'sandbox', 'event', 'lost', 'finding', 'footer'])
    assert.deepEqual([...new Set(records.map((r) => r.type))].sort(), [...listed].sort())
  })
})
