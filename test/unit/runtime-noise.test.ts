// Runtime noise (issue 15, item 5): the runtime's own processes are marked on every process
// reference, and the text and TUI views fold away the events among them unless asked, saying how
// many; the trace keeps them. Records shaped like ../shared/notes/cri-containerd.md's recording.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {ProcessTable} from '../../src/events/process-table.js'
import {RuntimeNoiseFold, isRuntimeComm, isRuntimeNoise} from '../../src/events/runtime-procs.js'
import type {ProcInfo} from '../../src/events/process-info.js'
import type {ProcRef, TraceEvent} from '../../src/events/types.js'
import {replayToString} from '../helpers/replay.js'
import {assertValidRecords} from '../helpers/schema.js'
import {EventEmitter} from 'node:events'
import {render} from 'ink-testing-library'
import {replayTui} from '../../src/replay/tui.js'
import {NO_FILTERS} from '../../src/replay/filter.js'
import {Timeline} from '../../src/model/timeline.js'
import {ViewState} from '../../src/ui/view-state.js'

const ID = 'netns:4026532178'
const init = (tid: number): ProcRef => ({pid: 25300, tid, comm: 'runc:[2:INIT]', innerPid: 1, sandbox: ID, role: 'container', runtime: true})
const runc = (pid: number): ProcRef => ({pid, tid: pid, comm: 'runc', innerPid: pid, sandbox: null, role: 'host', runtime: true})
const shim: ProcRef = {pid: 24955, tid: 24960, comm: 'containerd-shim', innerPid: 24955, sandbox: null, role: 'host', runtime: true}
const sleep: ProcRef = {pid: 25309, tid: 25309, comm: 'sleep', innerPid: 1, sandbox: ID, role: 'container', container: 'main'}
const at = (t: number): {t: number; ts: string} => ({t, ts: new Date(Date.UTC(2026, 11, 2, 12, 0, 0) + t / 1e6).toISOString()})

// around the container's start: Go's preemption SIGURG between runc init's threads, their SIGKILL as it execs
const noise: TraceEvent[] = [
  {type: 'event', kind: 'signal', ...at(1_000_000), sig: 23, signame: 'SIGURG', via: 'tgkill', from: init(25300), target: {pid: 25300, tid: 25303}, to: init(25303), result: 'delivered', ret: 0, code: 'SI_TKILL'},
  {type: 'event', kind: 'signal', ...at(1_100_000), sig: 23, signame: 'SIGURG', via: 'tgkill', from: init(25303), target: {pid: 25300, tid: 25301}, to: init(25301), result: 'delivered', ret: 0, code: 'SI_TKILL'},
  {type: 'event', kind: 'deliver', ...at(2_000_000), proc: init(25301), sig: 9, signame: 'SIGKILL', handler: 'default'},
  {type: 'event', kind: 'exit', ...at(2_100_000), proc: init(25301), signal: 9, groupDead: false},
]
// the runtime acting on the container: what a person reads first
const real: TraceEvent[] = [
  {type: 'event', kind: 'exec', ...at(2_200_000), proc: sleep, filename: '/bin/sleep'},
  {type: 'event', kind: 'signal', ...at(3_787_756_000), sig: 15, signame: 'SIGTERM', via: 'kill', from: runc(25322), target: {pid: 25309}, to: sleep, result: 'ignored', ret: 0, code: 'SI_USER'},
  {type: 'event', kind: 'signal', ...at(6_797_457_000), sig: 9, signame: 'SIGKILL', via: 'kill', from: runc(25328), target: {pid: 25309}, to: sleep, result: 'delivered', ret: 0, code: 'SI_USER'},
  {type: 'event', kind: 'reap', ...at(6_806_807_000), reaper: shim, child: sleep, syscall: 'wait4', options: ['WNOHANG'], status: {signaled: 9, core: false}, statusFrom: 'wait'},
]
const all = [...noise.slice(0, 4), ...real].sort((a, b) => a.t - b.t)

describe('runtime noise', () => {
  it('the runtime\'s processes by their comm (cut to 15 bytes by the kernel), and nothing else', () => {
    assert.deepEqual(['runc', 'runc:[0:PARENT]', 'runc:[1:CHILD]', 'runc:[2:INIT]', 'crun', 'conmon', 'containerd-shim'].filter(isRuntimeComm).length, 7)
    assert.deepEqual(['sleep', 'pause', 'containerd', 'runcat', 'catatonit', 'conmonitor', ''].filter(isRuntimeComm), [])
  })

  it('the process table marks a runtime process\'s reference runtime: true, and no other', () => {
    const table = new ProcessTable()
    const info = (tid: number, comm: string): ProcInfo => ({tid, pid: tid, comm, innerPid: 1, pidns: 4026532252, level: 1, netns: 4026532178, ipcns: 4026532251, utsns: 4026532250, mntns: 1, cgroupId: 0, ppid: 24955})
    assert.equal(table.procRef(info(25300, 'runc:[2:INIT]')).runtime, true)
    assert.equal('runtime' in table.procRef(info(25309, 'sleep')), false)
    assert.equal(table.procRefOfTid(25322, 'runc').runtime, true)
    assert.equal('runtime' in table.procRefOfTid(25323, 'sh'), false)
  })

  it('an event is noise when every process it names is the runtime\'s: the SIGTERM, SIGKILL and reap of a container are not', () => {
    assertValidRecords(all)
    assert.deepEqual(noise.map(isRuntimeNoise), [true, true, true, true])
    assert.deepEqual(real.map(isRuntimeNoise), [false, false, false, false])
  })

  it('a view folds the noise and counts it; asked to, it shows it; other records always pass', () => {
    const fold = new RuntimeNoiseFold()
    assert.deepEqual(all.map((r) => fold.hides(r)), all.map((r) => noise.includes(r)))
    assert.equal(fold.hides({type: 'sandbox'}), false)
    assert.equal(fold.notice(), 'pausetrace: 4 events among the container runtime\'s own processes (runc, containerd-shim, conmon, crun) not shown; --runtime-noise shows them (the trace file keeps them).')
    const show = new RuntimeNoiseFold(true)
    assert.deepEqual(all.filter((r) => show.hides(r)), [])
    assert.equal(show.notice(), undefined)
  })

  describe('replay', () => {
    let dir: string
    let file: string
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-noise-'))
      const header = {type: 'header', format: 'pausetrace-trace', version: 1, host: 'node-a', kernel: '6.1.0', bpftrace: 'v0.17.0', startedAt: '2026-12-02T12:00:00.000Z', filters: {}, argv: []}
      const footer = {type: 'footer', endedAt: '2026-12-02T12:00:07.000Z', events: all.length, lost: 0, reason: 'interrupt'}
      file = path.join(dir, 'start.jsonl')
      writeFileSync(file, [header, ...all, footer].map((r) => `${JSON.stringify(r)}\n`).join(''))
    })
    afterEach(() => rmSync(dir, {recursive: true, force: true}))

    it('--text folds the noise and says how much on stderr; --runtime-noise shows every line; --json keeps every record', async () => {
      const folded = await replayToString([file], {format: 'text'})
      assert.deepEqual(folded.out.split('\n').filter((l) => l !== ''), [
        '+0.002200s exec     sleep[25309/1] @netns:4026532178 (container main) /bin/sleep',
        '+3.787756s signal   SIGTERM runc[25322] → sleep[25309/1] @netns:4026532178 (container main) via kill: ignored',
        '+6.797457s signal   SIGKILL runc[25328] → sleep[25309/1] @netns:4026532178 (container main) via kill: delivered',
        '+6.806807s reap     containerd-shim[24955 tid 24960] reaped sleep[25309/1] @netns:4026532178 (container main): killed by SIGKILL (wait4 WNOHANG)',
      ])
      assert.deepEqual(folded.warnings, ['pausetrace: 4 events among the container runtime\'s own processes (runc, containerd-shim, conmon, crun) not shown; --runtime-noise shows them (the trace file keeps them).'])
      assert.equal(folded.result.records, 4)
      const shown = await replayToString([file], {format: 'text', runtimeNoise: true})
      assert.deepEqual([shown.result.records, shown.warnings], [8, []])
      assert.match(shown.out.split('\n')[0], /^\+0\.001000s signal   SIGURG runc:\[2:INIT\]\[25300\/1\] @netns:4026532178 → runc:\[2:INIT\]\[25300\/1 tid 25303\]/)
      const json = await replayToString([file])
      assert.deepEqual([json.result.records, json.warnings], [all.length + 2, []])
    })

    for (const show of [false, true]) {
      it(`--tui${show ? ' --runtime-noise: every event reaches the timeline' : ': the noise never reaches the timeline, and the end notice counts it'}`, async () => {
        const state = new ViewState(new Timeline())
        let ink: ReturnType<typeof render> | undefined
        const warnings: string[] = []
        const terminal = Object.assign(new EventEmitter(), {columns: 140, rows: 45, write: () => true}) as unknown as NodeJS.WriteStream
        const done = replayTui({
          files: [file], filters: NO_FILTERS, speed: 0, warn: (l) => warnings.push(l), state, runtimeNoise: show,
          view: {render: (node) => (ink = render(node)), stdout: terminal, altScreen: false, intervalMs: 5},
        })
        const end = Date.now() + 10_000
        while (state.notice === undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
        assert.equal(state.notice, `replay finished: ${show ? 10 : 6} records from ${file}${show ? '' : ', 4 of the runtime\'s own not shown (--runtime-noise)'}; q quits`)
        assert.equal(state.timeline.counters.events, show ? 8 : 4)
        ink?.stdin.write('q')
        await done
        assert.equal(warnings.length, show ? 0 : 1)
      })
    }
  })
})
