// Pods by name where a person reads: the text lines of replay and piped watch name a sandbox by its
// pod (namespace/name, a podman pod by its name) and a process by its container; bare namespaces
// keep their ids. The CRI records are shaped like ../shared/notes/cri-containerd.md's recording.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {formatRecord} from '../../src/ui/text-line.js'
import {SandboxNames, attemptText, podLabel} from '../../src/ui/sandbox-names.js'
import type {ProcRef, SandboxRecord, TraceEvent} from '../../src/events/types.js'
import {traceRecords} from '../helpers/traces.js'
import {replayToString} from '../helpers/replay.js'
import {assertValidRecords} from '../helpers/schema.js'
import {Timeline} from '../../src/model/timeline.js'
import {sandboxTitle} from '../../src/ui/summary.js'
import {laneLabel} from '../../src/ui/words.js'
import {formatPodViews} from '../../src/sandbox/pods.js'

const ID = 'netns:4026532178'
const criSandbox: SandboxRecord = {
  type: 'sandbox', id: ID, runtime: 'containerd', pod: {name: 'web-0', namespace: 'shop', uid: '3f1c2a9e-0000-4000-8000-000000000001', attempt: 0},
  replaces: null, hostNetwork: false, pausePid: 24970, sharedNamespaces: ['ipc', 'net', 'uts'], sharedPidNamespace: false,
  ns: {net: 4026532178, ipc: 4026532251, uts: 4026532250, pid: 4026532252},
}
const host = (pid: number, comm: string, tid = pid): ProcRef => ({pid, tid, comm, innerPid: pid, sandbox: null, role: 'host'})
const sleep: ProcRef = {pid: 25309, tid: 25309, comm: 'sleep', innerPid: 1, sandbox: ID, role: 'container', container: 'main'}
const at = (t: number): {t: number; ts: string} => ({t, ts: new Date(Date.UTC(2026, 11, 2, 12, 0, 0) + t / 1e6).toISOString()})
const criEvents: TraceEvent[] = [
  {type: 'event', kind: 'signal', ...at(3787756000), sig: 15, signame: 'SIGTERM', via: 'kill', from: host(25322, 'runc'), target: {pid: 25309}, to: sleep, result: 'ignored', ret: 0, code: 'SI_USER'},
  {type: 'event', kind: 'signal', ...at(6797457000), sig: 9, signame: 'SIGKILL', via: 'kill', from: host(25328, 'runc'), target: {pid: 25309}, to: sleep, result: 'delivered', ret: 0, code: 'SI_USER'},
  {type: 'event', kind: 'reap', ...at(6806807000), reaper: host(24955, 'containerd-shim', 24960), child: sleep, syscall: 'wait4', options: ['WNOHANG'], status: {signaled: 9, core: false}, statusFrom: 'wait'},
]

describe('pods by name in text lines', () => {
  it('a CRI pod: namespace/name and the container instead of the sandbox id (the note\'s grace-period hang)', () => {
    assertValidRecords([criSandbox, ...criEvents])
    const names = new SandboxNames()
    names.feed(criSandbox)
    assert.deepEqual(criEvents.map((e) => formatRecord(e, names.label)), [
      '+3.787756s signal   SIGTERM runc[25322] → sleep[25309/1] @shop/web-0 (container main) via kill: ignored',
      '+6.797457s signal   SIGKILL runc[25328] → sleep[25309/1] @shop/web-0 (container main) via kill: delivered',
      '+6.806807s reap     containerd-shim[24955 tid 24960] reaped sleep[25309/1] @shop/web-0 (container main): killed by SIGKILL (wait4 WNOHANG)',
    ])
  })

  it('before its sandbox record, or with no pod known, a sandbox is its id; a process without a container has none', () => {
    const names = new SandboxNames()
    const bare = {...sleep, container: undefined}
    delete bare.container
    const ev = {...criEvents[0], to: bare}
    assert.equal(formatRecord(ev, names.label), '+3.787756s signal   SIGTERM runc[25322] → sleep[25309/1] @netns:4026532178 via kill: ignored')
    names.feed({...criSandbox, runtime: 'namespaces', pod: null})
    assert.equal(formatRecord(ev, names.label), '+3.787756s signal   SIGTERM runc[25322] → sleep[25309/1] @netns:4026532178 via kill: ignored')
    names.feed(criSandbox)
    // a later record that knows less does not take the name back
    names.feed({...criSandbox, pod: null})
    assert.equal(formatRecord(ev, names.label), '+3.787756s signal   SIGTERM runc[25322] → sleep[25309/1] @shop/web-0 via kill: ignored')
  })

  it('a podman pod (no namespace): its name', () => {
    const recs = traceRecords('sigterm-ignored')
    const names = new SandboxNames()
    for (const r of recs) if (r.type === 'sandbox') names.feed(r)
    const sigterm = recs.find((r): r is TraceEvent => r.type === 'event' && r.kind === 'signal' && r.signame === 'SIGTERM' && r.from.comm === 'node')
    assert.equal(formatRecord(sigterm as TraceEvent, names.label), '+0.332452s signal   SIGTERM node[32518] → sleep[803/1] @pt-sigterm via kill: ignored')
  })

  it('bare namespaces: every line as it was, the sandbox id', () => {
    const recs = traceRecords('teardown')
    const names = new SandboxNames()
    for (const r of recs) if (r.type === 'sandbox') names.feed(r)
    const events = recs.filter((r): r is TraceEvent => r.type === 'event')
    assert.ok(events.length > 10)
    assert.deepEqual(events.map((e) => formatRecord(e, names.label)), events.map((e) => formatRecord(e)))
  })

  it('a re-created sandbox says its attempt and what it replaces', () => {
    const second: SandboxRecord = {...criSandbox, id: 'netns:4026532300', pod: {...criSandbox.pod!, attempt: 1}, replaces: ID}
    assert.deepEqual([podLabel(second), attemptText(second)], ['shop/web-0', ' (attempt 1, replaces netns:4026532178)'])
    assert.equal(attemptText(criSandbox), '')
    assert.equal(attemptText({...second, replaces: null}), ' (attempt 1)')
    assert.deepEqual([podLabel({id: 'pidns:9', pod: null}), attemptText({id: 'pidns:9', pod: null})], ['pidns:9', ''])
  })

  it('replay --text names the pod from the file\'s sandbox records', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-names-'))
    try {
      const header = {type: 'header', format: 'pausetrace-trace', version: 1, host: 'node-a', kernel: '6.1.0', bpftrace: 'v0.17.0', startedAt: '2026-12-02T12:00:00.000Z', filters: {}, argv: []}
      const footer = {type: 'footer', endedAt: '2026-12-02T12:00:07.000Z', events: 3, lost: 0, reason: 'interrupt'}
      const f = path.join(dir, 'cri.jsonl')
      writeFileSync(f, [header, criSandbox, ...criEvents, footer].map((r) => `${JSON.stringify(r)}\n`).join(''))
      const {out} = await replayToString([f], {format: 'text'})
      assert.deepEqual(out.split('\n').filter((l) => l !== ''), [
        '+3.787756s signal   SIGTERM runc[25322] → sleep[25309/1] @shop/web-0 (container main) via kill: ignored',
        '+6.797457s signal   SIGKILL runc[25328] → sleep[25309/1] @shop/web-0 (container main) via kill: delivered',
        '+6.806807s reap     containerd-shim[24955 tid 24960] reaped sleep[25309/1] @shop/web-0 (container main): killed by SIGKILL (wait4 WNOHANG)',
      ])
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('the view: the sandbox title names the pod, its attempt and what it replaces; a lane names its container', () => {
    const second: SandboxRecord = {...criSandbox, id: 'netns:4026532300', pausePid: 26001, pod: {...criSandbox.pod!, attempt: 1}, replaces: ID}
    const moved = (e: TraceEvent): TraceEvent => JSON.parse(JSON.stringify(e).replaceAll(ID, second.id)) as TraceEvent
    const tl = new Timeline()
    for (const r of [criSandbox, second, ...criEvents.map(moved)]) tl.feed(r)
    const sb = tl.sandboxes.get(second.id)
    assert.ok(sb)
    assert.equal(sandboxTitle(sb), 'shop/web-0 (attempt 1, replaces netns:4026532178) · containerd · own PID ns · netns:4026532300 · 3 events')
    assert.equal(sandboxTitle(tl.sandboxes.get(ID)!), 'shop/web-0 · containerd · own PID ns · netns:4026532178 · 0 events')
    assert.deepEqual([...sb.lanes.values()].map(laneLabel), ['pid 26001/1', 'sleep[25309/1] main'])
  })

  it('pods: the heading names the pod, its attempt and what it replaces; a process its container', () => {
    const second: SandboxRecord = {...criSandbox, id: 'netns:4026532300', pausePid: 26001, pod: {...criSandbox.pod!, attempt: 1}, replaces: ID}
    const pause = {pid: 26001, comm: 'pause', innerPid: 1, sandbox: second.id, role: 'pause' as const, ppid: 25990, state: 'S'}
    const ctr = {pid: 26040, comm: 'sleep', innerPid: 1, sandbox: second.id, role: 'container' as const, container: 'main', ppid: 26020, state: 'S'}
    assert.equal(formatPodViews([{...second, processes: [pause, ctr], zombies: []}]), [
      'shop/web-0 (attempt 1, replaces netns:4026532178)  [netns:4026532300]',
      '  runtime containerd · pause 26001 · shares ipc,net,uts · PID namespace shared: no · 2 process(es)',
      '    pause[26001/1] (pause)',
      '    sleep[26040/1] (container main)',
    ].join('\n'))
  })
})
