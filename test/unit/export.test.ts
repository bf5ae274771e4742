// export's core on real recordings: Perfetto trace-event JSON checked the way Perfetto's JSON
// importer reads it (test/helpers/perfetto.ts), CSV checked with an RFC 4180 parser, and the
// output file's safety (0600, O_EXCL, no symlinks).
import assert from 'node:assert/strict'
import {lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {exportTrace, type ExportOptions} from '../../src/replay/export.js'
import {NO_FILTERS} from '../../src/replay/filter.js'
import {CSV_COLUMNS, csvField, csvLine} from '../../src/replay/csv.js'
import {PerfettoExporter, SLICE_NS, type ChromeTraceEvent} from '../../src/replay/perfetto.js'
import type {ProcRef, TraceRecord} from '../../src/events/types.js'
import {checkPerfetto} from '../helpers/perfetto.js'
import {parseCsv} from '../helpers/csv.js'
import {TRACE_A, TRACE_B_GZ, scenarioPid1, traceRecords} from '../helpers/replay.js'

function must<T>(x: T | undefined): T {
  assert.ok(x !== undefined, 'expected to be found')
  return x
}

describe('export', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-export-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))
  const run = async (opts: Partial<ExportOptions> & Pick<ExportOptions, 'format' | 'output'>): Promise<{warnings: string[]; written: number; events: number; flows: number}> => {
    const warnings: string[] = []
    const r = await exportTrace({file: TRACE_A, filters: NO_FILTERS, warn: (l) => warnings.push(l), ...opts})
    return {warnings, written: r.written, events: r.events, flows: r.flows}
  }

  describe('csv', () => {
    it('quotes per RFC 4180 and defuses formulas in process-controlled text only', () => {
      assert.equal(csvField('plain'), 'plain')
      assert.equal(csvField('a,b'), '"a,b"')
      assert.equal(csvField('say "hi"'), '"say ""hi"""')
      assert.equal(csvField('two\nlines'), '"two\nlines"')
      assert.equal(csvField('cr\r'), '"cr\r"')
      assert.equal(csvField(-3), '-3')
      assert.equal(csvField(false), 'false')
      assert.equal(csvField(undefined), '')
      assert.equal(csvField(null), '')
      assert.equal(csvField('=cmd|calc', true), "'=cmd|calc")
      assert.equal(csvField('-x,y', true), `"'-x,y"`)
      assert.equal(csvField('=cmd|calc', false), '=cmd|calc')
      assert.equal(csvLine(['a', 1, undefined, 'b"c']), 'a,1,,"b""c"\r\n')
    })

    it('one header row and one row per event and lost record, every field in place', async () => {
      const out = path.join(dir, 'a.csv')
      const {written, events, warnings} = await run({format: 'csv', output: out})
      const recs = traceRecords(TRACE_A)
      const nEvents = recs.filter((r) => r.type === 'event').length
      const nLost = recs.filter((r) => r.type === 'lost').length
      assert.equal(events, nEvents)
      assert.equal(written, nEvents + nLost)
      assert.deepEqual(warnings, [])
      const text = readFileSync(out, 'utf8')
      assert.equal(text.slice(0, text.indexOf('\r\n')), 'time_s,ts,host,kind,signal,sig,via,result,ret,errno,code,target,handler,from_pid,from_inner_pid,from_comm,from_sandbox,from_pod,to_pid,to_inner_pid,to_comm,to_sandbox,to_pod,reaper_pid,reaper_comm,child_pid,child_inner_pid,child_comm,status,exit_code,exit_signal,core,group_dead,syscall,options,status_from,thread,filename,count,detail')
      const rows = parseCsv(text)
      assert.equal(rows.length, 1 + nEvents + nLost)
      for (const r of rows) assert.equal(r.length, CSV_COLUMNS.length)
      const objs = rows.slice(1).map((r) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, r[i]])))
      const ev = recs.filter((r) => r.type === 'event')
      assert.deepEqual(objs.map((o) => o.kind), ev.map((e) => e.kind))
      assert.deepEqual(objs.map((o) => o.ts), ev.map((e) => e.ts))
      assert.deepEqual(objs.map((o) => o.time_s), ev.map((e) => (e.t / 1e9).toFixed(9)))

      const {pid, sandbox} = scenarioPid1(recs)
      const kill = objs.find((o) => o.kind === 'signal' && o.to_pid === String(pid) && o.signal === 'SIGKILL')
      assert.ok(kill)
      assert.equal(kill.result, 'delivered')
      assert.equal(kill.via, 'kill')
      assert.equal(kill.to_inner_pid, '1')
      assert.equal(kill.to_sandbox, sandbox)
      assert.equal(kill.target, `pid ${pid}`)
      const ignored = objs.find((o) => o.kind === 'signal' && o.to_pid === String(pid) && o.signal === 'SIGTERM')
      assert.equal(ignored?.result, 'ignored')
      const reap = objs.find((o) => o.kind === 'reap' && o.child_pid === String(pid))
      assert.ok(reap)
      assert.deepEqual([reap.reaper_comm, reap.child_inner_pid, reap.status, reap.exit_signal, reap.core, reap.syscall, reap.from_comm, reap.to_pid], ['unshare', '1', 'killed by SIGKILL', 'SIGKILL', 'false', 'wait4', 'unshare', String(pid)])
      const exit3 = objs.find((o) => o.kind === 'exit' && o.exit_code === '3')
      assert.equal(exit3?.status, 'exited 3')
      assert.equal(exit3?.from_sandbox, sandbox)
      assert.equal(exit3?.host, recs[0].host)
      assert.equal(statSync(out).mode & 0o777, 0o600)
    })

    it('filters apply: --pid keeps only that process\'s rows', async () => {
      const {pid} = scenarioPid1(traceRecords(TRACE_A))
      const out = path.join(dir, 'pid.csv')
      const {written} = await run({format: 'csv', output: out, filters: {...NO_FILTERS, pids: [pid]}})
      const rows = parseCsv(readFileSync(out, 'utf8')).slice(1)
      assert.equal(rows.length, written)
      const at = (c: string): number => CSV_COLUMNS.indexOf(c as never)
      for (const r of rows) assert.ok([r[at('from_pid')], r[at('to_pid')]].includes(String(pid)), r.join(','))
    })
  })

  describe('perfetto', () => {
    for (const trace of [TRACE_A, TRACE_B_GZ]) {
      it(`${path.basename(trace)}: valid trace-event JSON, a track per sandbox and per process, an arrow per signal`, async () => {
        const out = path.join(dir, 'a.json')
        const warnings: string[] = []
        const r = await exportTrace({file: trace, format: 'perfetto', output: out, filters: NO_FILTERS, warn: (l) => warnings.push(l)})
        const recs = traceRecords(trace)
        const events = recs.filter((x) => x.type === 'event')
        const s = checkPerfetto(readFileSync(out, 'utf8'))
        assert.equal(r.written, s.events.length)
        const withReceiver = events.filter((e) => (e.kind === 'signal' || e.kind === 'flood') && e.to)
        assert.equal(s.flows.size, withReceiver.length)
        assert.equal(r.flows, withReceiver.length)
        // One process track per sandbox seen in events (named by its sandbox record) and one for the host.
        const groups = new Set(events.flatMap((e) => ['from', 'to', 'proc', 'reaper', 'child', 'parent'].filter((k) => e[k]).map((k) => e[k].sandbox ?? 'host')))
        const names = [...s.processNames.values()].sort()
        const sandboxes = new Map(recs.filter((x) => x.type === 'sandbox').map((x) => [x.id, x]))
        const title = (g: string): string => (g === 'host' ? 'host processes' : sandboxes.get(g)?.pod ? `pod ${sandboxes.get(g)?.pod.name} (${g})` : `sandbox ${g} (${sandboxes.get(g)?.runtime})`)
        assert.deepEqual(names, [...groups].map(title).sort())

        const {pid, sandbox} = scenarioPid1(recs)
        const sbPid = [...s.processNames].find(([, n]) => n.endsWith(`(${sandbox})`) || n.includes(` ${sandbox} `))?.[0]
        assert.ok(sbPid !== undefined)
        assert.equal(s.threadNames.get(`${sbPid}/${pid}`), 'sleep (pid 1 inside)')
        // The host's SIGKILL to the sandbox's PID 1: an arrow from the sender's track to PID 1's.
        const kill = must(events.find((e) => e.kind === 'signal' && e.to?.pid === pid && e.sig === 9))
        const flow = [...s.flows.values()].find((f) => f.f.tid === pid && Math.round(f.f.ts * 1000) === kill.t)
        assert.ok(flow, 'an arrow ends on PID 1 at the SIGKILL')
        assert.equal(flow.s.tid, kill.from.pid)
        assert.equal(flow.f.pid, sbPid)
        // PID 1's life: a slice from its first event to its reap, with its exit and the reaper.
        const reap = must(events.find((e) => e.kind === 'reap' && e.child.pid === pid))
        const life = s.events.find((e) => e.ph === 'X' && e.cat === 'life' && e.tid === pid && e.pid === sbPid)
        assert.ok(life)
        const first = must(events.find((e) => ['from', 'to', 'proc', 'reaper', 'child', 'parent'].some((k) => e[k]?.pid === pid && (e[k].sandbox ?? 'host') === sandbox)))
        assert.equal(Math.round(life.ts * 1000), first.t)
        assert.equal(Math.round((life.ts + (life.dur as number)) * 1000), reap.t)
        assert.equal(life.args?.exit, 'killed by SIGKILL')
        assert.match(String(life.args?.reapedBy), /^unshare\[\d+\]$/)
        // Exits and reaps are instants, on the exiting process's and on the reaper's track.
        const exits = s.events.filter((e) => e.ph === 'i' && e.cat === 'exit')
        assert.equal(exits.length, events.filter((e) => e.kind === 'exit').length)
        assert.ok(exits.some((e) => e.tid === pid && e.name === 'killed by SIGKILL'))
        const reaps = s.events.filter((e) => e.ph === 'i' && e.cat === 'reap')
        assert.equal(reaps.length, events.filter((e) => e.kind === 'reap').length)
        assert.ok(reaps.some((e) => e.tid === reap.reaper.pid && e.name === `reap sleep[${pid}/1]: killed by SIGKILL`))
        assert.deepEqual(warnings, [])
      })
    }

    it('signals close together on one track stay strictly nested around the exit and reap', () => {
      const out: ChromeTraceEvent[] = []
      const ex = new PerfettoExporter((e) => out.push(e))
      const proc = (pid: number, sandbox: string | null = 'netns:7'): ProcRef => ({pid, tid: pid, comm: `p${pid}`, innerPid: pid - 99, sandbox, role: 'container'})
      const t0 = 1_000_000
      const ts = (t: number): string => new Date(1_700_000_000_000 + t / 1e6).toISOString()
      const recs: TraceRecord[] = [
        {type: 'event', kind: 'fork', t: t0, ts: ts(t0), parent: proc(100), child: proc(101), thread: false},
        // three signals from 101 to 100 within 300 ns, two at the same ns, then 101 exits 50 ns later
        ...[0, 100, 100, 300].map((d) => ({type: 'event', kind: 'signal', t: t0 + 1000 + d, ts: ts(t0), sig: 10, signame: 'SIGUSR1', via: 'kill', from: proc(101), target: {pid: 100}, to: proc(100), result: 'delivered', ret: 0}) as TraceRecord),
        {type: 'event', kind: 'exit', t: t0 + 1350, ts: ts(t0), proc: proc(101), code: 0, groupDead: true},
        // SIGCHLD from the zombie, then the reap
        {type: 'event', kind: 'signal', t: t0 + 1400, ts: ts(t0), sig: 17, signame: 'SIGCHLD', via: 'kernel', from: proc(101), to: proc(100), result: 'delivered'},
        {type: 'event', kind: 'reap', t: t0 + 1500, ts: ts(t0), reaper: proc(100), child: proc(101), syscall: 'wait4', options: [], status: {exited: 0}, statusFrom: 'wait'},
        // a host process signals 100 and is never seen again (alive at the end)
        {type: 'event', kind: 'signal', t: t0 + 5000, ts: ts(t0), sig: 15, signame: 'SIGTERM', via: 'kill', from: proc(1, null), target: {pid: 100}, to: proc(100), result: 'ignored', ret: 0},
      ] as TraceRecord[]
      for (const r of recs) ex.push(r)
      ex.end()
      const s = checkPerfetto(JSON.stringify({traceEvents: out, displayTimeUnit: 'ns'}))
      assert.equal(s.flows.size, 6)
      const slicesOf = (tid: number): Array<[string, number, number]> =>
        out.filter((e) => e.ph === 'X' && e.tid === tid).map((e) => [e.name, Math.round(e.ts * 1000), Math.round((e.dur as number) * 1000)])
      assert.deepEqual(slicesOf(101), [
        ['SIGUSR1 → p100[100/1] (kill): delivered', t0 + 1000, 100],
        ['SIGUSR1 → p100[100/1] (kill): delivered', t0 + 1100, 200],
        ['SIGUSR1 → p100[100/1] (kill): delivered', t0 + 1100, 200],
        ['SIGUSR1 → p100[100/1] (kill): delivered', t0 + 1300, 100],
        ['SIGCHLD → p100[100/1] (kernel): delivered', t0 + 1400, 100],
        ['p101 (pid 2 inside)', t0, 1500],
      ])
      // 100 is alive at the end: its life runs to its last slice's nominal end.
      const life100 = slicesOf(100).find(([n]) => n === 'p100 (pid 1 inside)')
      assert.deepEqual(life100, ['p100 (pid 1 inside)', t0, 5000 + SLICE_NS])
    })
  })

  describe('the output file', () => {
    it('is not written over an existing file without --force, nor through a symlink even with it', async () => {
      const out = path.join(dir, 'exists.csv')
      writeFileSync(out, 'keep')
      await assert.rejects(run({format: 'csv', output: out}), {message: `${out} already exists; choose another name or pass --force to overwrite it.`, exitCode: 2})
      assert.equal(readFileSync(out, 'utf8'), 'keep')
      await run({format: 'csv', output: out, force: true})
      assert.ok(readFileSync(out, 'utf8').startsWith('time_s,'))
      assert.equal(statSync(out).mode & 0o777, 0o600)
      const link = path.join(dir, 'link.csv')
      const target = path.join(dir, 'target.csv')
      writeFileSync(target, 'keep')
      symlinkSync(target, link)
      for (const force of [false, true]) {
        await assert.rejects(run({format: 'csv', output: link, force}), {message: `${link} is a symbolic link; pausetrace does not write through links, give the real path.`, exitCode: 2})
      }
      assert.equal(readFileSync(target, 'utf8'), 'keep')
      assert.ok(lstatSync(link).isSymbolicLink())
    })

    it('is not created when the input is not a trace, and never replaces the input', async () => {
      const junk = path.join(dir, 'junk')
      writeFileSync(junk, 'junk\n')
      const out = path.join(dir, 'never.json')
      await assert.rejects(exportTrace({file: junk, format: 'perfetto', output: out, filters: NO_FILTERS, warn: () => undefined}), {exitCode: 2})
      assert.throws(() => statSync(out), {code: 'ENOENT'})
      const copy = path.join(dir, 'in.jsonl')
      writeFileSync(copy, readFileSync(TRACE_A))
      await assert.rejects(exportTrace({file: copy, format: 'csv', output: copy, force: true, filters: NO_FILTERS, warn: () => undefined}), {message: `-o ${copy} is the trace being read; give another output file.`})
      assert.deepEqual(readFileSync(copy), readFileSync(TRACE_A))
    })
  })
})
