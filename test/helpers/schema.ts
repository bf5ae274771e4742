// Validates records against the trace format's schema (docs/trace-record.schema.json).
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Ajv2020} from 'ajv/dist/2020.js'
import assert from 'node:assert/strict'

const schema = JSON.parse(readFileSync(fileURLToPath(new URL('../../docs/trace-record.schema.json', import.meta.url)), 'utf8')) as object
const ajv = new Ajv2020({allErrors: true, strict: false})
const validate = ajv.compile(schema)

export function assertValidRecords(records: unknown[]): void {
  records.forEach((r, i) => {
    if (!validate(r)) assert.fail(`record ${i} does not match the schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(r)}`)
  })
}
