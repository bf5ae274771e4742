import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {bpftraceChildren, childrenOf, hasFirstLine, killLeftovers, readRecords, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {assertValidRecords} from '../helpers/schema.js'
import {cleanupAll, createPod, pidState, podman, removePod, runInPod, shInNsSandbox, startNsSandbox} from '../helpers/sandboxes.js'
import {ensurePause} from '../../src/lab/build-pause.js'

type Rec = Record<string, any>

/** Zombies whose parent is `ppid`, from /proc. */
function zombiesOf(ppid: number): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (f[0] === 'Z' && Number(f[1]) === ppid) out.push(Number(d))
    } catch {
      // gone
    }
  }
  return out
}

describe('e2e: pod sandboxes (podman pods and bare namespaces)', function () {
  this.timeout(180_000)
  let dir: string
  before(function () {
    requireTracing(this)
  })
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-'))
  })
  afterEach(async function () {
    killLeftovers()
    await cleanupAll()
    if (this.currentTest?.state === 'failed') console.warn(`    kept ${dir} for inspection`)
    else rmSync(dir, {recursive: true, force: true})
  })

  it('podman: pause reaps an orphan (shared PID), a PID 1 keeps a zombie (own PID), SIGTERM to PID 1 is ignored, a signal reaches pause', async () => {
    const out = path.join(dir, 'trace.jsonl')
    const run = runCli(['record', '-o', out])
    await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')

    const shared = await createPod({name: 'shared', sharePid: true})
    const priv = await createPod({name: 'private', sharePid: false})
    // shared PID namespace: a subshell starts a child and exits at once, so the child is orphaned to
    // catatonit (PID 1 of the pod) and exits 3 later. (The container itself keeps running: when a
    // container's main process ends, the runtime kills the rest of it.)
    await runInPod(shared, {name: 'orphaner', cmd: ['sh', '-c', '(sh -c "sleep 0.4; exit 3" >/dev/null 2>&1 &); exec sleep 1000']})
    // own PID namespace: PID 1 is a sleep that never waits, so its child stays a zombie
    const keeper = await runInPod(priv, {name: 'keeper', cmd: ['sh', '-c', 'sleep 0.3 & exec sleep 1000']})
    await waitFor(() => zombiesOf(keeper.pid).length === 1, 10_000, 'the zombie under the container PID 1')
    const [zombie] = zombiesOf(keeper.pid)

    // `pods --json` sees both pods, the zombie and its status
    const pods = runCli(['pods', '--json'])
    assert.equal((await pods.exited).code, 0, pods.stderr())
    const views = JSON.parse(pods.stdout()) as Rec[]
    const vShared = views.find((v) => v.pod?.name === shared.name)
    const vPriv = views.find((v) => v.pod?.name === priv.name)
    assert.ok(vShared && vPriv, `both pods listed: ${pods.stdout().slice(0, 500)}`)
    assert.deepEqual([vShared.runtime, vShared.pausePid, vShared.sharedPidNamespace], ['podman', shared.infraPid, true])
    assert.deepEqual([vPriv.runtime, vPriv.pausePid, vPriv.sharedPidNamespace], ['podman', priv.infraPid, false])
    assert.deepEqual(vPriv.zombies.map((z: Rec) => [z.pid, z.ppid, z.status, z.role]), [[zombie, keeper.pid, {exited: 0}, 'container']])
    assert.equal(vPriv.processes.find((p: Rec) => p.pid === keeper.pid)?.innerPid, 1)

    process.kill(keeper.pid, 'SIGTERM') // PID 1 of its namespace, no handler: the kernel drops it
    process.kill(shared.infraPid, 'SIGUSR1') // catatonit blocks it and reads it from a signalfd
    await waitFor(() => readFileSync(out, 'utf8').includes('"sig":10') && readFileSync(out, 'utf8').includes(`"exited":3`), 15_000, 'the signals and the reap in the trace')
    run.child.kill('SIGINT')
    assert.equal((await run.exited).code, 0, run.stderr())

    const records = readRecords(out)
    assertValidRecords(records)
    const sbx = (pod: {name: string}): Rec => records.filter((r) => r.type === 'sandbox' && r.pod?.name === pod.name).at(-1) as Rec
    const sShared = sbx(shared)
    const sPriv = sbx(priv)
    assert.deepEqual([sShared.runtime, sShared.pausePid, sShared.sharedPidNamespace, sShared.id], ['podman', shared.infraPid, true, vShared.id])
    assert.deepEqual([sPriv.runtime, sPriv.pausePid, sPriv.sharedPidNamespace, sPriv.id], ['podman', priv.infraPid, false, vPriv.id])
    const events = records.filter((r) => r.type === 'event')

    // the orphan, reaped by the pause of the shared pod
    const reaps = events.filter((e) => e.kind === 'reap' && e.reaper.pid === shared.infraPid)
    const orphanReap = reaps.find((e) => e.status.exited === 3) as Rec
    assert.ok(orphanReap, 'catatonit reaped the orphan')
    assert.deepEqual([orphanReap.reaper.role, orphanReap.reaper.innerPid, orphanReap.reaper.sandbox, orphanReap.reaper.comm], ['pause', 1, sShared.id, 'catatonit'])
    assert.deepEqual([orphanReap.child.role, orphanReap.child.sandbox], ['container', sShared.id])
    assert.ok(orphanReap.child.innerPid > 1 && orphanReap.child.innerPid !== orphanReap.child.pid, 'the orphan has its own PID inside the pod')
    const orphanExit = events.filter((e) => e.kind === 'exit' && e.proc.pid === orphanReap.child.pid)
    assert.deepEqual(orphanExit.map((e) => [e.code, e.proc.innerPid, e.proc.sandbox]), [[3, orphanReap.child.innerPid, sShared.id]])

    // the zombie: its exit is there, and nobody reaped it
    assert.deepEqual(events.filter((e) => e.kind === 'exit' && e.proc.pid === zombie).map((e) => [e.code, e.proc.sandbox, e.proc.role]), [[0, sPriv.id, 'container']])
    assert.deepEqual(events.filter((e) => e.kind === 'reap' && e.child.pid === zombie), [])

    // SIGTERM to the container's PID 1: ignored by the kernel
    const term = events.filter((e) => e.kind === 'signal' && e.sig === 15 && e.to?.pid === keeper.pid)
    assert.deepEqual(term.map((e) => [e.result, e.to.innerPid, e.to.role, e.to.sandbox, e.from.pid, e.from.role]), [['ignored', 1, 'container', sPriv.id, process.pid, 'host']])
    // SIGUSR1 to pause: generated (delivered to its signalfd), never delivered to a handler
    const usr1 = events.filter((e) => e.kind === 'signal' && e.sig === 10 && e.to?.pid === shared.infraPid)
    assert.deepEqual(usr1.map((e) => [e.result, e.to.role, e.to.innerPid, e.to.sandbox]), [['delivered', 'pause', 1, sShared.id]])
    assert.deepEqual(events.filter((e) => e.kind === 'deliver' && e.sig === 10 && e.proc.pid === shared.infraPid), [])
  })

  it('a pod deleted mid-trace (podman pod rm -f): its kills, exits and reaps are in the trace; record goes on and stops cleanly', async () => {
    // Made before the trace: the trace knows the pod by name from its first sandbox record.
    const pod = await createPod({name: 'deleted', sharePid: false})
    // PID 1 with no SIGTERM handler (the kernel drops SIGTERM; podman escalates to SIGKILL) and a child
    const stubborn = await runInPod(pod, {name: 'stubborn', cmd: ['sh', '-c', 'sleep 1000 & exec sleep 1001']})
    // PID 1 that exits 7 on SIGTERM, and a child
    const graceful = await runInPod(pod, {name: 'graceful', cmd: ['sh', '-c', 'trap "exit 7" TERM; sleep 1000 & wait']})
    let stubbornChild = 0
    let gracefulChild = 0
    await waitFor(() => (stubbornChild = childrenOf(stubborn.pid)[0] ?? 0) > 0 && (gracefulChild = childrenOf(graceful.pid)[0] ?? 0) > 0, 10_000, 'the children of both PID 1s')
    // the trap is installed before sh forks the child: SIGTERM now goes to the handler
    const pid1s = [pod.infraPid, stubborn.pid, graceful.pid]
    const all = [...pid1s, stubbornChild, gracefulChild]

    const out = path.join(dir, 'trace.jsonl')
    const run = runCli(['record', '-o', out])
    await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
    const bpftrace = bpftraceChildren(run.child.pid as number)
    assert.equal(bpftrace.length, 1)

    // SIGTERM to each container's PID 1 (runc kill), SIGKILL 1 s later to the one still alive,
    // then the infra's catatonit; conmon reaps each PID 1; the pod is gone when this returns
    await removePod(pod, {stopTimeout: 1})
    for (const pid of all) assert.equal(pidState(pid), undefined, `PID ${pid} of the pod is gone`)
    const reapOfInfra = (l: string): boolean => l.includes('"kind":"reap"') && l.includes(`"child":{"pid":${pod.infraPid},`)
    await waitFor(() => readFileSync(out, 'utf8').split('\n').some(reapOfInfra), 15_000, 'the reap of catatonit in the trace')
    // record goes on with its pod gone
    await new Promise((r) => setTimeout(r, 1000))
    assert.equal(run.child.exitCode, null, `record is still running: ${run.stderr()}`)

    // `pods` no longer lists it
    const pods = runCli(['pods', '--json'])
    assert.equal((await pods.exited).code, 0, pods.stderr())
    const views = JSON.parse(pods.stdout()) as Rec[]

    run.child.kill('SIGINT')
    assert.equal((await run.exited).code, 0, run.stderr())
    // one line on stderr, the summary: no stack trace, no warning
    assert.match(run.stderr(), /^pausetrace: \d+ events \(.*\) in [\d.]+ s → .*; 0 lost \(checked against the kernel's counts\); \d+ signals counted in flood summaries; stopped: interrupt\n$/)
    assert.equal(pidState(bpftrace[0]), undefined, `bpftrace (PID ${bpftrace[0]}) has exited`)
    await assert.rejects(podman(['pod', 'exists', pod.podId]), 'podman no longer knows the pod')

    const records = readRecords(out)
    assertValidRecords(records)
    const events = records.filter((r) => r.type === 'event')
    const footer = records.at(-1) as Rec
    assert.deepEqual([footer.type, footer.reason, footer.lost, footer.events], ['footer', 'interrupt', 0, events.length])
    assert.deepEqual(records.filter((r) => r.type === 'lost'), [])
    const sandboxes = records.filter((r) => r.type === 'sandbox' && r.pod?.name === pod.name)
    assert.ok(sandboxes.length > 0, 'the pod has a sandbox record')
    const sbId = sandboxes[0].id as string
    // every record of the sandbox names the pod and its pause, also the last look before the footer
    for (const sb of records.filter((r) => r.type === 'sandbox' && r.id === sbId)) {
      assert.deepEqual([sb.runtime, sb.pod?.name, sb.pausePid, sb.sharedPidNamespace], ['podman', pod.name, pod.infraPid, false])
    }
    assert.equal(views.find((v) => v.pod?.name === pod.name || v.id === sbId), undefined, `pods --json no longer lists the pod: ${pods.stdout().slice(0, 300)}`)

    // the kills podman sends through runc (a host process) to the PID 1s, with the kernel's verdict
    const kills = events
      .filter((e) => e.kind === 'signal' && e.via === 'kill' && (e.sig === 15 || e.sig === 9) && pid1s.includes(e.to?.pid))
      .map((e) => [e.to.pid, e.signame, e.result, e.ret, e.from.comm, e.from.role, e.to.innerPid, e.to.role, e.to.sandbox])
    const expectedKills = [
      [stubborn.pid, 'SIGTERM', 'ignored', 0, 'runc', 'host', 1, 'container', sbId],
      [stubborn.pid, 'SIGKILL', 'delivered', 0, 'runc', 'host', 1, 'container', sbId],
      [graceful.pid, 'SIGTERM', 'delivered', 0, 'runc', 'host', 1, 'container', sbId],
      [pod.infraPid, 'SIGTERM', 'delivered', 0, 'runc', 'host', 1, 'pause', sbId],
    ]
    const byPidThenTime = (a: unknown[], b: unknown[]): number => pid1s.indexOf(a[0] as number) - pid1s.indexOf(b[0] as number)
    assert.deepEqual(kills.sort(byPidThenTime), expectedKills.sort(byPidThenTime))
    // the trap ran: SIGTERM to graceful went to its handler
    assert.deepEqual(events.filter((e) => e.kind === 'deliver' && e.proc.pid === graceful.pid && e.sig === 15).map((e) => e.handler), ['handler'])
    // each PID 1 that dies takes the rest of its PID namespace with it: one SIGKILL from the kernel to its child
    for (const [parent, child] of [[stubborn.pid, stubbornChild], [graceful.pid, gracefulChild]]) {
      const k = events.filter((e) => e.kind === 'signal' && e.to?.pid === child)
      assert.deepEqual(k.map((e) => [e.signame, e.via, e.result, e.from.pid, e.to.sandbox, e.to.role]), [['SIGKILL', 'kernel', 'delivered', parent, sbId, 'container']])
    }
    // exactly one exit per process of the pod (all single-threaded: the group-dead one), in the sandbox
    const exitOf = (pid: number): unknown[] => events.filter((e) => e.kind === 'exit' && e.proc.pid === pid).map((e) => [e.groupDead, e.code ?? null, e.signal ?? null, e.proc.sandbox, e.proc.role])
    assert.deepEqual(exitOf(stubborn.pid), [[true, null, 9, sbId, 'container']])
    assert.deepEqual(exitOf(stubbornChild), [[true, null, 9, sbId, 'container']])
    assert.deepEqual(exitOf(graceful.pid), [[true, 7, null, sbId, 'container']])
    assert.deepEqual(exitOf(gracefulChild), [[true, null, 9, sbId, 'container']])
    assert.deepEqual(exitOf(pod.infraPid), [[true, 0, null, sbId, 'pause']])
    // each PID 1 reaped once, by its conmon, with the status of its exit
    const reapOf = (pid: number): unknown[] => events.filter((e) => e.kind === 'reap' && e.child.pid === pid).map((e) => [e.reaper.comm, e.reaper.role, e.syscall, e.status, e.child.sandbox])
    assert.deepEqual(reapOf(stubborn.pid), [['conmon', 'host', 'wait4', {signaled: 9, core: false}, sbId]])
    assert.deepEqual(reapOf(graceful.pid), [['conmon', 'host', 'wait4', {exited: 7}, sbId]])
    assert.deepEqual(reapOf(pod.infraPid), [['conmon', 'host', 'wait4', {exited: 0}, sbId]])
  })

  it('--pod keeps the events of that pod only (a pod made after the start stays out)', async () => {
    const a = await createPod({name: 'filter-a', sharePid: false})
    const aPid1 = (await runInPod(a, {name: 'a1', cmd: ['sleep', '1000']})).pid
    const out = path.join(dir, 'trace.jsonl')
    const run = runCli(['record', '-o', out, '--pod', a.name])
    await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
    const b = await createPod({name: 'filter-b', sharePid: false})
    const bPid1 = (await runInPod(b, {name: 'b1', cmd: ['sleep', '1000']})).pid
    process.kill(aPid1, 'SIGTERM')
    process.kill(bPid1, 'SIGTERM')
    await waitFor(() => readFileSync(out, 'utf8').includes('"signame":"SIGTERM"'), 15_000, 'the SIGTERM to pod a')
    await new Promise((r) => setTimeout(r, 500))
    run.child.kill('SIGINT')
    assert.equal((await run.exited).code, 0, run.stderr())
    const records = readRecords(out)
    assertValidRecords(records)
    assert.deepEqual([...new Set(records.filter((r) => r.type === 'sandbox').map((r) => r.pod?.name))], [a.name])
    const events = records.filter((r) => r.type === 'event')
    assert.ok(events.length > 0)
    const sbA = records.find((r) => r.type === 'sandbox')?.id
    for (const e of events) {
      const procs = [e.from, e.to, e.proc, e.reaper, e.child, e.parent].filter(Boolean) as Rec[]
      assert.ok(procs.some((p) => p.sandbox === sbA), `every event involves pod a: ${JSON.stringify(e).slice(0, 200)}`)
    }
    assert.deepEqual(events.filter((e) => e.kind === 'signal' && e.sig === 15).map((e) => [e.to.pid, e.result]), [[aPid1, 'ignored']])
  })

  it("namespaces: the project's pause reaps an orphan with no status pointer, and ignores SIGHUP as PID 1", async () => {
    const pausePath = await ensurePause()
    const out = path.join(dir, 'trace.jsonl')
    const run = runCli(['record', '-o', out])
    await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
    const sb = await startNsSandbox({sharePid: true, pausePath})
    const orphaner = await shInNsSandbox(sb, 'sh -c "sleep 0.3; exit 5" >/dev/null 2>&1 & exit 0', {pidNs: 'shared'})
    await orphaner.exited
    await waitFor(() => readFileSync(out, 'utf8').includes('"exited":5'), 15_000, 'the orphan reaped by pause')
    process.kill(sb.pausePid, 'SIGHUP')
    await waitFor(() => readFileSync(out, 'utf8').includes('"signame":"SIGHUP"'), 15_000, 'the SIGHUP in the trace')
    run.child.kill('SIGINT')
    assert.equal((await run.exited).code, 0, run.stderr())

    const records = readRecords(out)
    assertValidRecords(records)
    const sandbox = records.filter((r) => r.type === 'sandbox' && r.pausePid === sb.pausePid).at(-1) as Rec
    assert.ok(sandbox, 'the sandbox record names the pause')
    assert.deepEqual([sandbox.runtime, sandbox.pod, sandbox.sharedPidNamespace], ['namespaces', null, true])
    const events = records.filter((r) => r.type === 'event')
    const reap = events.filter((e) => e.kind === 'reap' && e.reaper.pid === sb.pausePid && e.status.exited === 5)
    assert.equal(reap.length, 1)
    assert.deepEqual([reap[0].reaper.role, reap[0].reaper.innerPid, reap[0].reaper.comm, reap[0].syscall, reap[0].options, reap[0].statusFrom], ['pause', 1, 'pause', 'wait4', ['WNOHANG'], 'exit'])
    assert.deepEqual([reap[0].child.sandbox, reap[0].child.role], [sandbox.id, 'container'])
    assert.ok(reap[0].child.innerPid > 1)
    // pause got SIGCHLD through its handler, and SIGHUP (no handler, PID 1) was dropped
    assert.ok(events.some((e) => e.kind === 'deliver' && e.proc.pid === sb.pausePid && e.signame === 'SIGCHLD' && e.handler === 'handler'))
    const hup = events.filter((e) => e.kind === 'signal' && e.signame === 'SIGHUP' && e.to?.pid === sb.pausePid)
    assert.deepEqual(hup.map((e) => [e.result, e.to.role, e.to.innerPid, e.to.sandbox]), [['ignored', 'pause', 1, sandbox.id]])
  })
})
