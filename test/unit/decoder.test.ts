import assert from 'node:assert/strict'
import {VERSIONS, decodeText, workloadFixture} from '../helpers/fixtures.js'
import {assertValidRecords} from '../helpers/schema.js'
import {assertWorkloadTrace} from '../helpers/workload-assertions.js'
import {Decoder, fromSiginfo, fromWaitStatus} from '../../src/events/decoder.js'
import {parseBpftraceLine} from '../../src/stream/bpftrace-json.js'

describe('decoder', () => {
  for (const version of VERSIONS) {
    describe(`on the workload recorded from bpftrace ${version}`, () => {
      const {stdout, manifest} = workloadFixture(version)
      const {records, decoder} = decodeText(stdout.toString('utf8'), {wallOffsetMs: Date.parse('2026-11-27T10:00:00Z') - 1_500_000})

      it('produces records that match the schema', () => {
        assert.ok(records.length > 100)
        assertValidRecords(records)
      })

      it('decodes every signal, exit and reap of the workload exactly', () => {
        assertWorkloadTrace(records, manifest)
      })

      it("accounts for every line against the kernel's counts", () => {
        assert.equal(decoder.countsVerified, true)
        assert.equal(decoder.stats.lostFound, 0)
        assert.equal(decoder.stats.lostReported, 0)
        assert.equal(decoder.stats.badLines, 0)
        for (const [tag, n] of Object.entries(decoder.stats.produced ?? {})) assert.equal(decoder.stats.seen[tag], n, tag)
      })

      it('emits events in time order', () => {
        const ts = records.filter((r) => r.type === 'event').map((r) => r.t)
        const outOfOrder = ts.filter((t, i) => i > 0 && t < ts[i - 1])
        assert.deepEqual(outOfOrder, [])
      })

      it('decodes the exec of a multi-byte UTF-8 file name', () => {
        const ex = records.find((r) => r.type === 'event' && r.kind === 'exec' && r.filename.includes('prog'))
        assert.ok(ex && ex.type === 'event' && ex.kind === 'exec')
        assert.equal(ex.filename, '/tmp/pausetrace-fixture/ünïcødé-日本語-prog')
        // the kernel's comm is the first 15 bytes of the base name
        assert.equal(ex.proc.comm, 'ünïcødé-日')
      })
    })
  }

  it('reports lines the kernel counted but bpftrace never printed as lost', () => {
    const {stdout} = workloadFixture('0.17.0')
    const lines = stdout.toString('utf8').split('\n')
    const dropped = lines.filter((l) => l.includes('"data": "F ')).slice(0, 5)
    const {records, decoder} = decodeText(lines.filter((l) => !dropped.includes(l)).join('\n'))
    const lost = records.filter((r) => r.type === 'lost')
    assert.deepEqual(lost.map((r) => r.type === 'lost' && [r.count, r.source]), [[5, 'kernel-count']])
    assert.equal(decoder.stats.lostFound, 5)
  })

  it('turns bpftrace lost_events into lost records and does not count them twice', () => {
    const {stdout} = workloadFixture('0.27.1')
    const lines = stdout.toString('utf8').split('\n')
    const dropped = lines.filter((l) => l.includes('"data": "E ')).slice(0, 3)
    const kept = lines.filter((l) => !dropped.includes(l))
    kept.splice(40, 0, '{"type": "lost_events", "count": 3, "data": {"events": 3}}')
    const {records} = decodeText(kept.join('\n'))
    const lost = records.filter((r) => r.type === 'lost')
    assert.deepEqual(lost.map((r) => r.type === 'lost' && [r.count, r.source]), [[3, 'bpftrace']])
  })

  it('counts a malformed line as lost and goes on', () => {
    const d = new Decoder()
    const out = [
      ...d.push(parseBpftraceLine('{"type": "printf", "data": "P 1000 0 4026531836 4026531833\\n"}')!),
      ...d.push(parseBpftraceLine('{"type": "printf", "data": "S 12 broken\\n"}')!),
      ...d.push(parseBpftraceLine('{"type": "printf", "da')!),
      ...d.finish(),
    ]
    assert.deepEqual(out.map((r) => r.type === 'lost' && r.count), [1, 1])
    assert.equal(d.stats.badLines, 2)
  })

  it('decodes wait statuses and siginfo codes', () => {
    assert.deepEqual(fromWaitStatus(0x300), {exited: 3})
    assert.deepEqual(fromWaitStatus(0x0f), {signaled: 15, core: false})
    assert.deepEqual(fromWaitStatus(0x8b), {signaled: 11, core: true})
    assert.deepEqual(fromWaitStatus(0x137f), {stopped: 19})
    assert.deepEqual(fromWaitStatus(0xffff), {continued: true})
    assert.deepEqual(fromSiginfo(1, 7), {exited: 7})
    assert.deepEqual(fromSiginfo(2, 9), {signaled: 9, core: false})
    assert.deepEqual(fromSiginfo(3, 11), {signaled: 11, core: true})
    assert.deepEqual(fromSiginfo(5, 19), {stopped: 19})
    assert.deepEqual(fromSiginfo(6, 18), {continued: true})
    assert.equal(fromSiginfo(0, 0), undefined)
  })
})
