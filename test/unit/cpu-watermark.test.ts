// Time order across CPUs by heartbeats (src/events/cpu-watermark.ts, bpf/control.bt): on a real
// recording where bpftrace 0.17 read one CPU's buffer ~350 ms behind the other's, and on the
// rules themselves.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {gunzipSync} from 'node:zlib'
import {decodeText, fixturePath} from '../helpers/fixtures.js'
import {assertValidRecords} from '../helpers/schema.js'
import {parseRawLine} from '../../src/events/raw.js'
import {CpuWatermark} from '../../src/events/cpu-watermark.js'
import type {DecodedRecord} from '../../src/events/decoder.js'
import type {MapEntry} from '../../src/stream/bpftrace-json.js'

/** events written after one with a later t */
function behind(records: DecodedRecord[]): number {
  let max = Number.NEGATIVE_INFINITY
  let n = 0
  for (const r of records) {
    if (r.type !== 'event') continue
    if (r.t < max) n++
    else max = r.t
  }
  return n
}

/** each event's kind and time: the same events, whatever was known of their processes when decoded */
const sortedEvents = (records: DecodedRecord[]): string[] => records.flatMap((r) => (r.type === 'event' ? [`${r.kind} ${r.t}`] : [])).sort()

/** signal events whose target's PID inside its namespace was not known when they were written */
const unknownInner = (records: DecodedRecord[]): number => records.filter((r) => r.type === 'event' && r.kind === 'signal' && r.to?.innerPid === null).length

describe('time order across CPUs (heartbeats)', () => {
  describe('a recording where one CPU\'s buffer was read ~350 ms late (bpftrace 0.17, 20 busy sandboxes on 2 CPUs)', () => {
    // test/fixtures/bpftrace/late-cpu/README.md: how it was recorded
    const text = gunzipSync(readFileSync(fixturePath('bpftrace/late-cpu/sandboxes-0.17.0.stdout.gz'))).toString('utf8')
    const withBeats = decodeText(text, {heartbeats: true})
    const windowOnly = decodeText(text.split('\n').filter((l) => !l.includes('"H ') && !l.includes('"@lp"')).join('\n'))

    it('the recording has lines read behind later ones, by up to ~350 ms: the time window alone writes hundreds of events late', () => {
      assert.ok(behind(windowOnly.records) > 100, `window only: ${behind(windowOnly.records)} behind`)
      assert.ok(windowOnly.decoder.stats.lateLines > 100)
    })

    it('with the heartbeats: every event in time order, none late, the same events, and each knows more of its processes', () => {
      assert.equal(behind(withBeats.records), 0)
      assert.equal(withBeats.decoder.stats.lateLines, 0)
      assert.equal(withBeats.decoder.stats.noHeartbeats, undefined)
      assert.deepEqual(sortedEvents(withBeats.records), sortedEvents(windowOnly.records))
      // decoded before the target's own lines had come, a late signal did not know its target's inner PID
      assert.ok(unknownInner(withBeats.records) < unknownInner(windowOnly.records), `${unknownInner(withBeats.records)} vs ${unknownInner(windowOnly.records)}`)
      assert.ok(withBeats.records.length > 13_000)
      assertValidRecords(withBeats.records)
    })

    it('counts the events it writes out of order: 0 here, 258 with the window alone', () => {
      assert.equal(withBeats.decoder.stats.outOfOrder, 0)
      assert.equal(windowOnly.decoder.stats.outOfOrder, behind(windowOnly.records))
    })

    it('a stream without heartbeats where they were expected: back to the window after 3 s, and said', () => {
      const {records, decoder} = decodeText(text.split('\n').filter((l) => !l.includes('"H ') && !l.includes('"@lp"')).join('\n'), {heartbeats: true})
      // the excerpt spans < 3 s: everything waited for the end, in order
      assert.equal(behind(records), 0)
      assert.equal(decoder.stats.noHeartbeats, undefined)
    })
  })

  describe('the H line', () => {
    it('parses both forms: the times after the ns (final line or not), and the older bare `H <ns>` a map follows', () => {
      assert.deepEqual(parseRawLine('H 285706012345678 1 0 285706011000000 1 0\n'), {tag: 'H', ns: '285706012345678', last: true, times: [285706011000000, 0]})
      assert.deepEqual(parseRawLine('H 285706012345678 0 16 5\n'), {tag: 'H', ns: '285706012345678', last: false, times: [5]})
      assert.deepEqual(parseRawLine('H 285706012345678\n'), {tag: 'H', ns: '285706012345678'})
      assert.equal(parseRawLine('H 285706012345678 2 0 5\n').tag, 'bad')
      assert.equal(parseRawLine('H 285706012345678 1 0\n').tag, 'bad')
      assert.equal(parseRawLine('H 285706012345678 1 0 x\n').tag, 'bad')
    })
  })

  describe('the rule', () => {
    const base = 5_000_000_000_000 // the trace's base, kernel ns
    const entries = (times: Record<string, number>): MapEntry[] => Object.entries(times).map(([cpu, t]) => ({key: [cpu], value: t === 0 ? 0 : (base + t) % 1e15}))
    const make = (): CpuWatermark => new CpuWatermark(() => base % 1e15, true)

    it('releases up to a heartbeat only once the latest line of every CPU has been read', () => {
      const w = make()
      w.line(10e6) // CPU 0
      w.heartbeat(100e6)
      w.lastPrinted(entries({0: 10e6, 1: 40e6})) // CPU 1's line at 40 ms is still in its buffer
      assert.equal(w.upTo, Number.NEGATIVE_INFINITY)
      w.line(20e6)
      assert.equal(w.upTo, Number.NEGATIVE_INFINITY)
      w.line(40e6)
      assert.equal(w.upTo, 90e6) // the heartbeat's time less the 10 ms margin
    })

    it('a CPU that printed nothing yet (0), or long ago, holds nothing back', () => {
      const w = make()
      w.line(5e6)
      w.heartbeat(100e6)
      w.lastPrinted(entries({0: 5e6, 1: 0}))
      assert.equal(w.upTo, 90e6)
      w.heartbeat(200e6)
      w.lastPrinted(entries({0: 5e6, 1: 0})) // 5 ms is below what was released: read for sure
      assert.equal(w.upTo, 190e6)
    })

    it('a later heartbeat complete completes the earlier ones (each CPU is read in order)', () => {
      const w = make()
      w.heartbeat(100e6)
      w.lastPrinted(entries({0: 90e6, 1: 95e6}))
      w.heartbeat(200e6)
      w.lastPrinted(entries({0: 190e6, 1: 150e6}))
      assert.equal(w.waiting, 2)
      w.line(190e6)
      w.line(150e6) // the second is complete; the first's lines were read before (not seen here: they were lost)
      assert.equal(w.upTo, 190e6)
      assert.equal(w.waiting, 0)
    })

    it('a line read before its heartbeat\'s map counts (another CPU\'s buffer is read first)', () => {
      const w = make()
      w.line(150e6)
      w.line(120e6)
      w.heartbeat(100e6)
      w.lastPrinted(entries({0: 150e6, 1: 120e6}))
      assert.equal(w.upTo, 90e6)
    })

    it('the cap: forced past a heartbeat that cannot complete (a CPU\'s line lost), the waiting ones go', () => {
      const w = make()
      w.heartbeat(100e6)
      w.lastPrinted(entries({0: 90e6}))
      w.forceTo(2_000e6)
      assert.equal(w.upTo, 2_000e6)
      assert.equal(w.waiting, 0)
    })

    it('the kernel clock wrapping past 10^15 ns between the base and a line', () => {
      const nearWrap = 1e15 - 50e6
      const w = new CpuWatermark(() => nearWrap, true)
      w.line(80e6) // 30 ms after the wrap
      w.heartbeat(90e6)
      w.lastPrinted([{key: ['0'], value: 30e6}])
      assert.equal(w.upTo, 80e6)
    })

    it('a heartbeat whose line carries the times (16 CPUs to a line): complete at its final line, once every time is read', () => {
      const w = make()
      const mod = (t: number): number => (base + t) % 1e15
      w.line(10e6)
      w.heartbeatLine(100e6, [mod(10e6), 0, ...Array.from({length: 14}, () => 0)], false)
      assert.equal(w.waiting, 0, 'not complete before its final line')
      w.heartbeatLine(100e6, [mod(60e6)], true) // CPU 16's line at 60 ms is still in its buffer
      assert.equal(w.upTo, Number.NEGATIVE_INFINITY)
      assert.equal(w.waiting, 1)
      w.line(60e6)
      assert.equal(w.upTo, 90e6)
      w.heartbeatLine(200e6, [mod(10e6), mod(60e6)], true) // nothing printed since: complete at once
      assert.equal(w.upTo, 190e6)
      assert.equal(w.reached, 2)
    })

    it('expected heartbeats that never come: given up after 3 s of stream, not before', () => {
      const w = make()
      assert.equal(w.noneBy(2_900e6), false)
      assert.equal(w.active, true)
      assert.equal(w.noneBy(3_000e6), true)
      assert.equal(w.active, false)
      w.heartbeat(3_100e6) // and back on the first one
      assert.equal(w.active, true)
    })
  })
})
