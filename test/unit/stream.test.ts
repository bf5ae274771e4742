import assert from 'node:assert/strict'
import {LineSplitter, type LineItem} from '../../src/stream/lines.js'
import {parseBpftraceLine} from '../../src/stream/bpftrace-json.js'
import {VERSIONS, workloadFixture} from '../helpers/fixtures.js'

function splitAll(chunks: Buffer[], max?: number): LineItem[] {
  const s = new LineSplitter(max)
  const out: LineItem[] = []
  for (const c of chunks) out.push(...s.push(c))
  out.push(...s.end())
  return out
}

/** A slice of a fixture small enough to cut at every byte: its first 40 lines, a UTF-8 line, its last 8. */
function sample(buf: Buffer): Buffer {
  const lines = buf.toString('utf8').split('\n')
  const utf = lines.filter((l) => l.includes('uffffff')).slice(0, 1)
  return Buffer.from([...lines.slice(0, 40), ...utf, ...lines.slice(-9)].join('\n'), 'utf8')
}

describe('stream: bytes → lines → records', () => {
  for (const version of VERSIONS) {
    it(`gives the same lines at every chunk split point (bpftrace ${version})`, () => {
      const buf = sample(workloadFixture(version).stdout)
      const whole = splitAll([buf])
      assert.ok(whole.length > 40)
      for (let i = 1; i < buf.length; i++) assert.deepEqual(splitAll([buf.subarray(0, i), buf.subarray(i)]), whole, `split at ${i}`)
    })

    it(`gives the same records for the whole fixture cut in 1..3-byte pieces (bpftrace ${version})`, () => {
      const buf = workloadFixture(version).stdout
      const whole = splitAll([buf])
      const pieces: Buffer[] = []
      for (let i = 0, n = 1; i < buf.length; i += n, n = (n % 3) + 1) pieces.push(buf.subarray(i, i + n))
      assert.deepEqual(splitAll(pieces), whole)
      const records = whole.map((l) => (l.kind === 'line' ? parseBpftraceLine(l.text) : null)).filter((r) => r !== null)
      assert.equal(records.filter((r) => r.type === 'bad').length, 0)
      assert.equal(records.filter((r) => r.type === 'attached').length, 1)
      assert.ok(records.some((r) => r.type === 'map' && r.name === '@n'))
    })
  }

  it('decodes multi-byte UTF-8 split inside a character', () => {
    const buf = Buffer.from('{"type": "printf", "data": "X 1 ünï日本語🙂"}\nnext\n', 'utf8')
    const whole = splitAll([buf])
    assert.deepEqual(whole, [{kind: 'line', text: '{"type": "printf", "data": "X 1 ünï日本語🙂"}'}, {kind: 'line', text: 'next'}])
    for (let i = 1; i < buf.length; i++) assert.deepEqual(splitAll([buf.subarray(0, i), buf.subarray(i)]), whole, `split at ${i}`)
  })

  it('strips CR of CRLF line ends, also when the CR and LF arrive apart', () => {
    const buf = Buffer.from('a\r\nb\r\n\r\nc', 'utf8')
    const want = [{kind: 'line', text: 'a'}, {kind: 'line', text: 'b'}, {kind: 'line', text: ''}, {kind: 'line', text: 'c'}]
    for (let i = 1; i < buf.length; i++) assert.deepEqual(splitAll([buf.subarray(0, i), buf.subarray(i)]), want)
  })

  it('turns an over-long line into one counted item and keeps the lines around it', () => {
    const long = 'x'.repeat(5000)
    const buf = Buffer.from(`before\n${long}\nafter\n`)
    const pieces = [buf.subarray(0, 100), buf.subarray(100, 3000), buf.subarray(3000)]
    const got = splitAll(pieces, 1000)
    assert.deepEqual(got.map((g) => g.kind), ['line', 'overlong', 'line'])
    assert.equal(got[1].kind === 'overlong' && got[1].chars, 5000)
    assert.equal(got[2].kind === 'line' && got[2].text, 'after')
  })

  it('ends an unterminated over-long line as one item', () => {
    const got = splitAll([Buffer.from('y'.repeat(3000))], 1000)
    assert.deepEqual(got.map((g) => g.kind), ['overlong'])
  })

  it('gives the last line without a newline at the end of input', () => {
    assert.deepEqual(splitAll([Buffer.from('one\ntwo')]), [{kind: 'line', text: 'one'}, {kind: 'line', text: 'two'}])
  })

  it('makes broken JSON a bad record, never a throw', () => {
    for (const l of ['{"type": "printf", "data": "S 1', '[1,2]', '"str"', '{"data": 1}', '{"type": "printf", "data": 5}', '{"type": "map", "data": {"@a": {"k": "x"}}}', '\u0000\u0001']) {
      const r = parseBpftraceLine(l)
      assert.equal(r?.type, 'bad', l)
    }
    assert.equal(parseBpftraceLine(''), null)
    assert.equal(parseBpftraceLine('   '), null)
  })

  it('reads every bpftrace record shape of 0.17, 0.23 and 0.27', () => {
    assert.deepEqual(parseBpftraceLine('{"type": "attached_probes", "data": {"probes": 3}}'), {type: 'attached', probes: 3})
    assert.deepEqual(parseBpftraceLine('{"type": "attached_probes", "count": 3, "data": {"probes": 3}}'), {type: 'attached', probes: 3})
    assert.deepEqual(parseBpftraceLine('{"type": "lost_events", "data": {"events": 967}}'), {type: 'lost', count: 967})
    assert.deepEqual(parseBpftraceLine('{"type": "lost_events", "count": 168278, "data": {"events": 168278}}'), {type: 'lost', count: 168278})
    assert.deepEqual(parseBpftraceLine('{"type": "map", "data": {"@c": {"27645,0,7": 1, "27645,10,7": 3}}}'), {
      type: 'map', name: '@c', entries: [{key: ['27645', '0', '7'], value: 1}, {key: ['27645', '10', '7'], value: 3}],
    })
    assert.deepEqual(parseBpftraceLine('{"type": "map", "data": {"@stop": 1}}'), {type: 'map', name: '@stop', entries: [{key: [], value: 1}]})
    // 0.24+ prints integers a double cannot hold as strings
    assert.deepEqual(parseBpftraceLine('{"type": "map", "data": {"@n": {"1": "9007199254740993"}}}'), {type: 'map', name: '@n', entries: [{key: ['1'], value: 9007199254740992}]})
    assert.deepEqual(parseBpftraceLine('{"type": "time", "data": "09:57:52\\n"}'), {type: 'other', btType: 'time'})
  })

  it("decodes bpftrace's sign-extended escapes of bytes >= 0x80 as UTF-8, and keeps an escaped backslash", () => {
    assert.deepEqual(parseBpftraceLine('{"type": "printf", "data": "X \\uffffffc3\\uffffffa9t\\uffffffc3\\uffffffa9\\n"}'), {type: 'printf', text: 'X été\n'})
    assert.deepEqual(parseBpftraceLine('{"type": "printf", "data": "X a\\\\uffffffc3\\n"}'), {type: 'printf', text: 'X a\\uffffffc3\n'})
    // a cut character becomes U+FFFD
    assert.deepEqual(parseBpftraceLine('{"type": "printf", "data": "X \\uffffffe6\\uffffff97"}'), {type: 'printf', text: 'X \uFFFD'})
  })
})
