// A strict RFC 4180 reader for checking CSV output: it fails on anything the RFC does not allow.
import assert from 'node:assert/strict'

/** RFC 4180: fields separated by commas, records by CRLF, quoted fields may hold both, "" is a quote. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let i = 0
  let quoted = false
  while (i < text.length) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i += 2
      } else if (c === '"') {
        quoted = false
        i++
      } else {
        field += c
        i++
      }
      continue
    }
    if (c === '"') {
      assert.equal(field, '', `a quote inside an unquoted field at ${i}`)
      quoted = true
      i++
    } else if (c === ',') {
      row.push(field)
      field = ''
      i++
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
      i += 2
    } else {
      assert.ok(c !== '\n' && c !== '\r', `a bare line break at ${i}`)
      field += c
      i++
    }
  }
  assert.equal(quoted, false, 'unterminated quoted field')
  assert.equal(field + row.join(''), '', 'the last record has no CRLF')
  return rows
}
