// replay's core on real recordings (test/fixtures/replay): byte-exact round trips, gzip, merging
// by wall clock with hosts, filters, pacing, damaged files and files that are not traces.
import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {gzipSync} from 'node:zlib'
import os from 'node:os'
import path from 'node:path'
import {readTraceEntries, type ReadProblems} from '../../src/replay/reader.js'
import {KeyClock, TraceMerge} from '../../src/replay/merge.js'
import {Pacer, type Clock} from '../../src/replay/pace.js'
import {withHost} from '../../src/replay/replay.js'
import {formatMergedRecord, formatRecord} from '../../src/ui/text-line.js'
import type {HeaderRecord, TraceRecord} from '../../src/events/types.js'
import {NO_FILTERS} from '../../src/replay/filter.js'
import {assertValidRecords} from '../helpers/schema.js'
import {TRACE_A, TRACE_B_GZ, replayToString, scenarioPid1, traceRecords, traceText} from '../helpers/replay.js'

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '')
const pidsOf = (r: Record<string, any>): number[] => ['from', 'to', 'proc', 'reaper', 'child', 'parent'].filter((k) => r[k]).map((k) => r[k].pid as number)
const sandboxesOf = (r: Record<string, any>): Array<string | null> => ['from', 'to', 'proc', 'reaper', 'child', 'parent'].filter((k) => r[k]).map((k) => r[k].sandbox as string | null)

describe('replay: real recordings', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-replay-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))
  const file = (name: string, content: string | Buffer): string => {
    const p = path.join(dir, name)
    writeFileSync(p, content)
    return p
  }

  it('the fixtures are valid traces: schema, a header first and a footer last', () => {
    for (const f of [TRACE_A, TRACE_B_GZ]) {
      const recs = traceRecords(f)
      assertValidRecords(recs)
      assert.equal(recs[0].type, 'header')
      assert.equal(recs.at(-1)?.type, 'footer')
      assert.equal(recs.at(-1)?.events, recs.filter((r) => r.type === 'event').length)
    }
  })

  it('readTraceEntries yields every line as stored, and no problem', async () => {
    const problems: ReadProblems = {badLines: 0, noFooter: false, cutLastLine: false}
    const got: string[] = []
    for await (const e of readTraceEntries(TRACE_A, problems)) got.push(e.line)
    assert.deepEqual(got, lines(traceText(TRACE_A)))
    assert.deepEqual(problems, {badLines: 0, noFooter: false, cutLastLine: false})
  })

  it('--json prints a plain file and a gzip file back byte for byte', async () => {
    for (const f of [TRACE_A, TRACE_B_GZ]) {
      const {out, warnings, result} = await replayToString([f])
      assert.equal(out, traceText(f))
      assert.deepEqual(warnings, [])
      assert.equal(result.records, lines(traceText(f)).length)
    }
  })

  it('two consecutive recordings merge into the first then the second, whatever the argument order', async () => {
    const a = traceText(TRACE_A)
    const b = traceText(TRACE_B_GZ)
    assert.ok(Date.parse(traceRecords(TRACE_A).at(-1)?.endedAt) < Date.parse(traceRecords(TRACE_B_GZ)[0].startedAt))
    assert.equal((await replayToString([TRACE_A, TRACE_B_GZ])).out, a + b)
    const reversed = await replayToString([TRACE_B_GZ, TRACE_A])
    assert.equal(reversed.out, a + b)
    assert.deepEqual(reversed.result.hosts, ['vm'])
  })

  it('interleaved files from two hosts merge in time order; each record but the headers gets its host', async () => {
    const recs = traceRecords(TRACE_A)
    const head = recs.filter((r) => r.type === 'header' || r.type === 'sandbox')
    const events = recs.filter((r) => r.type === 'event')
    const footer = recs.at(-1) as Record<string, any>
    const hostA = recs[0].host as string
    // Events alternate between the two files; both files keep the recording's start and t.
    const parts = [0, 1].map((k) => events.filter((_, i) => i % 2 === k))
    const headers = [recs[0], {...recs[0], host: 'node-b'}]
    const files = [0, 1].map((k) => file(`part${k}.jsonl`, [headers[k], ...head.slice(1), ...parts[k], footer].map((r) => JSON.stringify(r) + '\n').join('')))
    const {out, result} = await replayToString(files)
    assert.deepEqual(result.hosts, [hostA, 'node-b'])
    const got = lines(out).map((l) => JSON.parse(l) as Record<string, any>)
    assert.equal(got.length, 2 * (head.length + 1) + events.length)
    assertValidRecords(got)
    // The oracle: the recording's own order, ties of t between the files going to the first file.
    const expected = events.map((e, i) => ({e, f: i % 2})).sort((x, y) => x.e.t - y.e.t || x.f - y.f)
    const gotEvents = got.filter((r) => r.type === 'event')
    assert.deepEqual(gotEvents.map(({host, ...e}) => e), expected.map((x) => x.e))
    assert.deepEqual(gotEvents.map((e) => e.host), expected.map((x) => (x.f === 0 ? hostA : 'node-b')))
    // Headers are printed as stored; other records name their host, last.
    const outHeaders = lines(out).filter((l) => l.startsWith('{"type":"header"'))
    assert.deepEqual(outHeaders, headers.map((h) => JSON.stringify(h)))
    const sandboxLines = lines(out).filter((l) => l.startsWith('{"type":"sandbox"'))
    assert.equal(sandboxLines.length, 2 * (head.length - 1))
    for (const l of sandboxLines) assert.match(l, /,"host":"(vm|node-b)"}$/)
    // Each file's own records come out in their own order.
    for (const k of [0, 1]) {
      const mine = got.filter((r) => (r.type === 'header' ? r.host : r.host) === (k === 0 ? hostA : 'node-b')).map(({host, ...r}) => r)
      assert.deepEqual(mine.slice(1), [...head.slice(1), ...parts[k], footer])
    }
  })

  it('text lines of a two-host merge carry the host after the time, counted from the earliest start', async () => {
    const recs = traceRecords(TRACE_A)
    const later = {...recs[0], host: 'node-b', startedAt: new Date(Date.parse(recs[0].startedAt) + 2000).toISOString()}
    const ev = recs.find((r) => r.type === 'event') as Record<string, any>
    const f1 = file('one.jsonl', JSON.stringify(recs[0]) + '\n')
    const f2 = file('two.jsonl', [later, {...ev, ts: new Date(Date.parse(ev.ts) + 2000).toISOString()}].map((r) => JSON.stringify(r) + '\n').join(''))
    const {out} = await replayToString([f1, f2], {format: 'text'})
    const plain = formatRecord({...ev, t: ev.t + 2e9} as never)
    assert.equal(out, `${plain.slice(0, plain.indexOf(' '))} node-b${plain.slice(plain.indexOf(' '))}\n`)
    assert.equal(formatMergedRecord(ev as never, 0), formatRecord(ev as never))
  })

  it('withHost appends the host last, and leaves a record that names one alone', () => {
    assert.equal(withHost('{"type":"lost","t":5,"count":2}', {type: 'lost'}, 'n1'), '{"type":"lost","t":5,"count":2,"host":"n1"}')
    assert.equal(withHost('{"type":"lost","host":"x"}', {type: 'lost', host: 'x'}, 'n1'), '{"type":"lost","host":"x"}')
  })

  describe('filters', () => {
    const recs = traceRecords(TRACE_A)
    const events = recs.filter((r) => r.type === 'event')
    const {pid, sandbox} = scenarioPid1(recs)
    const replayEvents = async (filters: Partial<typeof NO_FILTERS>): Promise<Array<Record<string, any>>> =>
      lines((await replayToString([TRACE_A], {filters: {...NO_FILTERS, ...filters}})).out).map((l) => JSON.parse(l) as Record<string, any>)

    it('--pid keeps the events of that host PID, and every non-event record', async () => {
      const got = await replayEvents({pids: [pid]})
      const want = events.filter((e) => pidsOf(e).includes(pid))
      assert.ok(want.length >= 4, 'the sandbox PID 1 forks, execs, is signalled, exits')
      assert.deepEqual(got.filter((r) => r.type === 'event'), want)
      assert.deepEqual(got.filter((r) => r.type !== 'event'), recs.filter((r) => r.type !== 'event'))
    })

    it('--signal KILL keeps SIGKILL signals and deliveries only', async () => {
      const got = (await replayEvents({signals: [9]})).filter((r) => r.type === 'event')
      assert.deepEqual(got, events.filter((e) => ['signal', 'deliver', 'flood'].includes(e.kind) && e.sig === 9))
      assert.ok(got.some((e) => e.kind === 'signal' && e.to?.pid === pid && e.result === 'delivered'))
    })

    it('--sandbox keeps that sandbox\'s events and sandbox record', async () => {
      const got = await replayEvents({sandboxes: [sandbox]})
      assert.deepEqual(got.filter((r) => r.type === 'event'), events.filter((e) => sandboxesOf(e).includes(sandbox)))
      assert.deepEqual(got.filter((r) => r.type === 'sandbox').map((s) => s.id), [sandbox])
      assert.deepEqual(await replayEvents({sandboxes: ['netns:1']}).then((g) => g.filter((r) => r.type === 'event')), [])
    })

    it('--no-all keeps events with a process in a sandbox; the default keeps the file', async () => {
      const hostOnly = {...events[0], from: {...events[0].from, sandbox: null, role: 'host'}, to: events[0].to && {...events[0].to, sandbox: null, role: 'host'}, proc: events[0].proc && {...events[0].proc, sandbox: null, role: 'host'}}
      const f = file('mixed.jsonl', [recs[0], hostOnly, ...events].map((r) => JSON.stringify(r) + '\n').join(''))
      const all = lines((await replayToString([f])).out)
      assert.equal(all.length, 2 + events.length)
      const sandboxesOnly = lines((await replayToString([f], {filters: {...NO_FILTERS, scope: 'sandboxes'}})).out)
      assert.deepEqual(sandboxesOnly, [JSON.stringify(recs[0]), ...events.filter((e) => sandboxesOf(e).some((s) => s !== null)).map((e) => JSON.stringify(e))])
    })
  })

  describe('damaged files', () => {
    const text = traceText(TRACE_A)
    const all = lines(text)

    it('cut short mid-line: everything before the cut, one warning', async () => {
      const cut = text.indexOf('\n', Math.floor(text.length / 2)) + 30
      const f = file('cut.jsonl', text.slice(0, cut))
      const {out, warnings} = await replayToString([f])
      assert.equal(out, text.slice(0, text.lastIndexOf('\n', cut) + 1))
      assert.deepEqual(warnings, [`pausetrace: warning: ${f}: the last line was cut short; no footer (the recording did not end cleanly); everything readable was replayed.`])
    })

    it('a gzip file cut short: what decompresses, one warning', async () => {
      const gz = gzipSync(Buffer.from(text))
      const f = file('cut.jsonl.gz', gz.subarray(0, Math.floor(gz.length * 0.6)))
      const {out, warnings} = await replayToString([f])
      assert.ok(out.length > 0 && text.startsWith(out.slice(0, out.lastIndexOf('\n') + 1)))
      assert.ok(lines(out).length < all.length)
      assert.equal(warnings.length, 1)
      assert.match(warnings[0], /: (the last line was cut short; )?no footer \(the recording did not end cleanly\); everything readable was replayed\.$/)
    })

    it('a bad line in the middle is skipped and counted', async () => {
      const f = file('bad.jsonl', [...all.slice(0, 5), '{"type":"event","kind":', '\u0000\u0001binary', ...all.slice(5)].join('\n') + '\n')
      const {out, warnings} = await replayToString([f])
      assert.equal(out, text)
      assert.deepEqual(warnings, [`pausetrace: warning: ${f}: 2 unreadable line(s) skipped (first: line 6); everything readable was replayed.`])
    })

    it('no footer', async () => {
      const f = file('nofooter.jsonl', all.slice(0, -1).join('\n') + '\n')
      const {out, warnings} = await replayToString([f])
      assert.equal(out, all.slice(0, -1).join('\n') + '\n')
      assert.deepEqual(warnings, [`pausetrace: warning: ${f}: no footer (the recording did not end cleanly); everything readable was replayed.`])
    })
  })

  describe('files that are not traces are refused before any output', () => {
    const header = traceRecords(TRACE_A)[0]
    const cases: Array<[string, string | Buffer, number, (p: string) => string]> = [
      ['binary junk', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0xfe, 10, 0, 0]), 2, (p) => `${p} is not a pausetrace trace file (its first line is not a JSON header).`],
      ['an empty file', '', 2, (p) => `${p} is empty: not a pausetrace trace file.`],
      ['blank lines only', '\n\n  \n', 2, (p) => `${p} is blank: not a pausetrace trace file.`],
      ['JSON that is not a header', '{"type":"event","kind":"exit"}\n', 2, (p) => `${p} is not a pausetrace trace file (no pausetrace-trace header).`],
      ['a JSON array', '[1,2]\n', 2, (p) => `${p} is not a pausetrace trace file (its first line is not a JSON header).`],
      ['another format', '{"type":"header","format":"other"}\n', 2, (p) => `${p} is not a pausetrace trace file (no pausetrace-trace header).`],
      ['a header without a version', JSON.stringify({...header, version: undefined}) + '\n', 2, (p) => `${p} has a pausetrace-trace header without a valid format version (null).`],
      ['a newer format version', JSON.stringify({...header, version: 2}) + '\n', 3, (p) => `${p} is trace format version 2; this pausetrace reads version 1 and older: upgrade pausetrace.`],
      ['gzip magic then junk', Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 2, (p) => `${p} is not a pausetrace trace file (damaged gzip data).`],
    ]
    for (const [what, content, exitCode, message] of cases) {
      it(`${what}: exit code ${exitCode}`, async () => {
        const bad = file('bad', content)
        const sink = await replayToString([TRACE_A, bad]).then(
          () => assert.fail('accepted'),
          (err: Error & {exitCode?: number}) => err,
        )
        assert.equal(sink.message, message(bad))
        assert.equal(sink.exitCode, exitCode)
      })
    }

    it('nothing is printed when the second file is refused', async () => {
      const bad = file('bad', '\u0000junk\n')
      const {StringSink} = await import('../helpers/replay.js')
      const out = new StringSink()
      const {replayTraces} = await import('../../src/replay/replay.js')
      await assert.rejects(replayTraces({files: [TRACE_A, bad], format: 'json', filters: NO_FILTERS, speed: 0, out, warn: () => undefined}), /is not a pausetrace trace file/)
      assert.equal(out.text, '')
    })
  })

  it('reads the same records, and exact bytes, whatever the chunk size; --json writes what a whole read gives', async () => {
    const all = lines(traceText(TRACE_A))
    const mid = Math.floor(all.length / 2)
    const invalid = Buffer.from(all[mid + 1].replace('"comm":"', '"comm":"#'))
    invalid[invalid.indexOf('#')] = 0x80 // one invalid byte: decoded as U+FFFD, one character as well
    // CRLF and blank lines throughout, a line with multi-byte characters, one with an invalid byte, a bad line, no final newline
    const ends = (from: number, to: number): string => all.slice(from, to).map((l, i) => (i % 4 === 3 ? `${l}\r\n` : i % 5 === 4 ? `\n  \n${l}\n` : `${l}\n`)).join('')
    const tricky = Buffer.concat([
      Buffer.from(ends(0, mid)),
      Buffer.from(`${all[mid].replace('"comm":"', '"comm":"é€🙂')}\n`),
      invalid,
      Buffer.from(`\n{"type":"event","kind":\n${ends(mid + 2, all.length).slice(0, -1)}`),
    ])
    const inputs = [file('clean.jsonl', traceText(TRACE_A)), file('tricky.jsonl', tricky), file('tricky.jsonl.gz', gzipSync(tricky))]
    const {TraceReader} = await import('../../src/replay/reader.js')
    const read = async (f: string, chunk?: number): Promise<{entries: Array<{line: string; raw?: string}>; problems: ReadProblems}> => {
      const problems: ReadProblems = {badLines: 0, noFooter: false, cutLastLine: false}
      const r = new TraceReader(f, problems, 0, chunk)
      const entries: Array<{line: string; raw?: string}> = []
      for (let b = await r.next(); b; b = await r.next()) {
        for (const e of b) {
          if (e.raw) assert.ok(e.raw.subarray(e.rawStart, e.rawEnd).equals(Buffer.from(`${e.line}\n`)), `chunk ${chunk}: raw bytes of ${e.line.slice(0, 60)}`)
          entries.push({line: e.line, raw: e.raw ? 'exact' : undefined})
        }
      }
      return {entries, problems}
    }
    for (const f of inputs) {
      const whole = await read(f)
      assert.ok(whole.entries.length > 40)
      // One chunk holds the whole file: exact everywhere when it is clean, nowhere when it has an invalid byte.
      assert.equal(whole.entries.filter((e) => e.raw).length, f.endsWith('clean.jsonl') ? whole.entries.length : 0)
      for (const chunk of [1, 2, 3, 5, 8, 13, 64, 333, 4096]) {
        const got = await read(f, chunk)
        assert.deepEqual(got.entries.map((e) => e.line), whole.entries.map((e) => e.line), `chunk ${chunk}`)
        assert.deepEqual(got.problems, whole.problems, `chunk ${chunk}`)
        if (chunk >= 333) assert.ok(got.entries.some((e) => e.raw) && got.entries.some((e) => !e.raw), `chunk ${chunk}: some lines exact, some not`)
      }
      const json = (await replayToString([f])).out
      assert.equal(json, whole.entries.map((e) => `${e.line}\n`).join(''))
      const filtered = (await replayToString([f], {filters: {...NO_FILTERS, signals: [17]}})).out
      assert.equal(filtered, whole.entries.filter((e) => !e.line.includes('"type":"event"') || /"sig(?:name)?":(?:17|"SIGCHLD")/.test(e.line)).map((e) => `${e.line}\n`).join(''))
    }
  })

  it('TraceMerge closes every file it opened when one is refused', async () => {
    const bad = file('bad', 'nope\n')
    // the descriptors open on the three files (not a count of all of them: anything else in this
    // process, a timer's or another test's, may open or close one meanwhile)
    const files = new Set([TRACE_A, TRACE_B_GZ, bad].map((f) => realpathSync(f)))
    const onFiles = (): string[] =>
      readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`)
          return files.has(target) ? [target] : []
        } catch {
          return [] // closed since it was listed
        }
      })
    assert.deepEqual(onFiles(), [])
    // (what is looked for is there while files are open)
    const good = await TraceMerge.open([TRACE_A, TRACE_B_GZ])
    assert.ok(onFiles().length > 0, 'a merge holds its files open')
    await good.close()
    await new Promise((r) => setTimeout(r, 50))
    assert.deepEqual(onFiles(), [])
    await assert.rejects(TraceMerge.open([TRACE_A, TRACE_B_GZ, bad]), {exitCode: 2})
    await new Promise((r) => setTimeout(r, 50))
    assert.deepEqual(onFiles(), [])
  })
})

describe('replay: merge keys', () => {
  const header = {type: 'header', format: 'pausetrace-trace', version: 1, host: 'h', kernel: 'k', bpftrace: null, startedAt: '2026-01-01T00:00:00.500Z', filters: {}, argv: []} as HeaderRecord
  const ev = (t: number, ts: string): TraceRecord => ({type: 'event', kind: 'exec', t, ts, proc: {pid: 1, comm: 'x', innerPid: 1, sandbox: null, role: 'host'}, filename: '/x'}) as TraceRecord

  it('events by ts (and start + t within the ms); sandbox and lost records take the key before them', () => {
    const c = new KeyClock(header)
    assert.deepEqual(c.next(header), {ms: Date.parse('2026-01-01T00:00:00.500Z'), sub: 0})
    assert.deepEqual(c.next(ev(1_200_000, '2026-01-01T00:00:00.501Z')), {ms: Date.parse('2026-01-01T00:00:00.501Z'), sub: -1_000_000 + 1_200_000})
    assert.deepEqual(c.next({type: 'lost', t: 5, count: 1}), {ms: Date.parse('2026-01-01T00:00:00.501Z'), sub: 200_000})
    assert.deepEqual(c.next(ev(2_000_000, 'not a time')), {ms: Date.parse('2026-01-01T00:00:00.501Z'), sub: 200_000})
    assert.deepEqual(c.next({type: 'footer', endedAt: '2026-01-01T00:00:00.501Z', events: 2, lost: 1, reason: 'interrupt'}), {ms: Date.parse('2026-01-01T00:00:00.501Z'), sub: 200_000})
  })
})

describe('replay: pacing', () => {
  class FakeClock implements Clock {
    t = 0
    slept: number[] = []
    now(): number {
      return this.t
    }
    async sleep(ms: number): Promise<void> {
      this.slept.push(ms)
      this.t += ms
    }
  }

  it('speed 2 waits half the recorded gaps; records late or out of order wait nothing', () => {
    const clock = new FakeClock()
    const p = new Pacer(2, clock)
    assert.equal(p.delay(10_000), 0)
    assert.equal(p.delay(10_500), 250)
    assert.equal(p.delay(10_400), 200)
    clock.t = 900
    assert.equal(p.delay(11_000), 0)
    assert.equal(p.delay(12_000), 100)
    assert.equal(new Pacer(0, clock).delay(99_999), 0)
  })

  it('replay --speed 1 sleeps exactly the span between the first and last event shown', async () => {
    const clock = new FakeClock()
    await replayToString([TRACE_A], {format: 'text', speed: 1, clock})
    const events = traceRecords(TRACE_A).filter((r) => r.type === 'event')
    const span = Date.parse(events.at(-1)?.ts) - Date.parse(events[0].ts)
    assert.ok(span > 500)
    assert.equal(clock.slept.reduce((a, b) => a + b, 0), span)
    const fast = new FakeClock()
    await replayToString([TRACE_A], {format: 'text', speed: 4, clock: fast})
    // Below a millisecond nothing is slept: the last remainder (< 1 ms) is not.
    const sum = fast.slept.reduce((a, b) => a + b, 0)
    assert.ok(sum <= span / 4 && sum > span / 4 - 1, `slept ${sum} ms for ${span / 4}`)
  })
})
