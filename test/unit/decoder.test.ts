import assert from 'node:assert/strict'
import {VERSIONS, decodeText, workloadFixture} from '../helpers/fixtures.js'
import {assertValidRecords} from '../helpers/schema.js'
import {assertWorkloadTrace} from '../helpers/workload-assertions.js'
import {Decoder} from '../../src/events/decoder.js'
import {fromSiginfo, fromWaitStatus} from '../../src/events/wait-status.js'
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

      it('reads its heartbeats: H lines with each CPU\'s latest time, in this version\'s shape, each complete', () => {
        assert.ok((decoder.stats.seen.H ?? 0) >= 2)
        assert.equal(decoder.heartbeatsReached, decoder.stats.seen.H)
        assert.equal(decoder.stats.outOfOrder, 0)
      })

      it('emits events in time order', () => {
        const ts = records.filter((r) => r.type === 'event').map((r) => r.t)
        const outOfOrder = ts.filter((t, i) => i > 0 && t < ts[i - 1])
        assert.deepEqual(outOfOrder, [])
      })

      it("names the fatal signal behind a SIGKILL nobody sent (the kernel's group kill), and only there", () => {
        const events = records.filter((r) => r.type === 'event')
        // the workload's own (the recording is of the whole machine: a multi-threaded program's exit there is a group kill too)
        const kills = events.filter((r) => r.kind === 'deliver' && r.sig === 9 && r.handler === 'default' && r.proc.comm === 'sigwork')
        const labelled = kills.map((d) => {
          if (d.kind !== 'deliver') throw new Error('deliver')
          const sent = events.some((e) => e.kind === 'signal' && e.sig === 9 && e.to?.pid === d.proc.pid && e.t <= d.t)
          const exit = events.find((e) => e.kind === 'exit' && e.proc.pid === d.proc.pid && e.groupDead)
          return [sent, d.groupKillFor ?? null, exit?.kind === 'exit' ? exit.signal : undefined]
        })
        // three SIGKILLs were sent; one child died of SIGTERM, which the kernel carried out as SIGKILL
        assert.deepEqual(labelled.filter((l) => l[0] === false), [[false, 15, 15]])
        assert.deepEqual(labelled.filter((l) => l[0] === true).map((l) => [l[1], l[2]]), [[null, 9], [null, 9], [null, 9]])
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

  describe('lines that come late (a reader behind on one CPU\'s buffer)', () => {
    const {stdout, manifest} = workloadFixture('0.17.0')
    // without the heartbeats: the time window's own handling of late lines (cpu-watermark.test.ts has the heartbeats')
    const raw = stdout.toString('utf8').split('\n').filter((l) => !l.includes('"H ') && !l.includes('"@lp"'))
    // the fixture spans ~70 ms: a 2 ms window makes lines moved by tens of ms late
    const opts = {reorderWindowNs: 2e6}
    const nsOf = (l: string): number => Number(/"data": "[SGDEWFX] (\d+)/.exec(l)?.[1] ?? 0)
    // the event lines put in time order first (the recording has its own CPU-buffer disorder)
    const slots = raw.flatMap((l, i) => (nsOf(l) > 0 ? [i] : []))
    const sorted = slots.map((i) => raw[i]).sort((a, b) => nsOf(a) - nsOf(b))
    const lines = [...raw]
    slots.forEach((i, k) => (lines[i] = sorted[k]))
    /** the stream with line `i` moved to where the stream is `laterMs` past its time */
    const moved = (i: number, laterMs: number): string[] => {
      const out = [...lines]
      const [line] = out.splice(i, 1)
      const at = out.findIndex((l) => nsOf(l) > nsOf(line) + laterMs * 1e6)
      out.splice(at + 1, 0, line)
      return out
    }
    // the exit of a child (inner PID 2) that its namespace's PID 1 reaps with wait4(-1, NULL): the
    // reap can only be named, and given a status, from that exit line
    const childExit = lines.findIndex((l) => l.includes('"data": "E ') && / 2 \d{10} 1 /.test(l))
    const signalExit = lines.findIndex((l) => l.includes('"data": "S ') && lines.some((g) => g.includes('"data": "G ') && g.includes(` ${/"data": "S \d+ (\d+)/.exec(l)?.[1]} `)))

    it('holds a reap until its child\'s late exit line names it, and widens the window', () => {
      assert.ok(childExit > 0)
      const {records, decoder} = decodeText(moved(childExit, 10).join('\n'), opts)
      assertWorkloadTrace(records, manifest)
      assert.equal(decoder.stats.unresolvedReaps, 0)
      assert.ok(decoder.stats.lateLines >= 1)
      assert.ok(decoder.stats.maxWindowNs > 20e6, `window ${decoder.stats.maxWindowNs}`)
      assert.deepEqual(records.filter((r) => r.type === 'lost'), [])
    })

    it('writes a syscall\'s signals once when its exit line comes after they were written', () => {
      assert.ok(signalExit > 0)
      const before = decodeText(lines.join('\n'), opts).records.filter((r) => r.type === 'event' && r.kind === 'signal').length
      const {records, decoder} = decodeText(moved(signalExit, 30).join('\n'), opts)
      const signals = records.filter((r) => r.type === 'event' && r.kind === 'signal')
      assert.equal(signals.length, before)
      assert.equal(decoder.stats.lateSyscalls, 1)
      assert.equal(signals.filter((r) => 'incomplete' in r).length, 1)
      assertValidRecords(records)
    })

    it('reports a reap whose child cannot be named as one lost record, not silence', () => {
      const {records, decoder} = decodeText(lines.filter((_, i) => i !== childExit).join('\n'), opts)
      assert.deepEqual(records.filter((r) => r.type === 'lost').map((r) => r.type === 'lost' && [r.count, r.source]), [[1, 'unresolved'], [1, 'kernel-count']])
      assert.equal(decoder.stats.unresolvedReaps, 1)
      assertValidRecords(records)
    })

    it('releases by the clock only while no line comes', () => {
      const d = new Decoder()
      const first = lines.filter((l) => l.includes('"data": "')).slice(0, 40)
      let out = first.flatMap((l) => d.push(parseBpftraceLine(l)!))
      const far = String(BigInt(Math.max(...first.map(nsOf))) + 10_000_000_000n)
      out = out.concat(d.tick(far))
      assert.equal(out.filter((r) => r.type === 'event').length, 0, 'lines came since the last tick: nothing released by the clock')
      out = out.concat(d.tick(far))
      assert.ok(out.filter((r) => r.type === 'event').length > 0, 'idle: released')
    })
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
