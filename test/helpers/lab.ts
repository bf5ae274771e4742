// What the lab's end-to-end tests share: running `pausetrace lab --json` and reading its records,
// and the check, by id and without the lab's own cleanup code, that it left nothing behind.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, readlinkSync} from 'node:fs'
import path from 'node:path'
import {CI, runCli} from './e2e.js'
import {podmanEnv} from './sandboxes.js'

export type Rec = Record<string, any>

export interface LabRun {
  code: number | null
  stdout: string
  stderr: string
  lab: Rec[]
  trace: Rec[]
  /** the finding records the lab prints after the footer */
  findings: Rec[]
  /** clock ticks since boot when the CLI had exited */
  endTicks: number
}

export function ticksNow(): number {
  return Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100)
}

function startOf(pid: number): {start: number; state: string} | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return {state: f[0], start: Number(f[19])}
  } catch {
    return undefined
  }
}

export function parse(stdout: string): {lab: Rec[]; trace: Rec[]; findings: Rec[]} {
  const all = stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Rec)
  return {lab: all.filter((r) => r.type === 'lab'), trace: all.filter((r) => r.type !== 'lab' && r.type !== 'finding'), findings: all.filter((r) => r.type === 'finding')}
}

export async function lab(args: string[], opts: {onStdout?: (run: ReturnType<typeof runCli>) => Promise<void>} = {}): Promise<LabRun> {
  const run = runCli(['lab', ...args, '--json'])
  if (opts.onStdout) await opts.onStdout(run)
  const {code} = await run.exited
  const endTicks = ticksNow()
  return {code, stdout: run.stdout(), stderr: run.stderr(), ...parse(run.stdout()), endTicks}
}

function exitCode(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    execFile(cmd, args, {env, timeout: 60_000}, (err) => resolve(err ? (typeof (err as {code?: unknown}).code === 'number' ? ((err as {code: number}).code) : -1) : 0))
  })
}

function nsHolders(type: string, inode: number): number[] {
  const want = `${type}:[${inode}]`
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readlinkSync(`/proc/${d}/ns/${type}`) === want
      } catch {
        return false
      }
    })
    .map(Number)
}

/**
 * Nothing the lab made or ran is left: its processes (by PID and start time; a zombie is still a
 * /proc entry), every process the trace saw in its sandboxes, its namespaces (no process of the lab
 * in them; under CI, where nothing else runs, no process at all that started before the lab ended),
 * its pods and containers, their mounts, its directory.
 */
export async function assertNothingLeft(r: LabRun): Promise<void> {
  const cleanup = r.lab.find((x) => x.kind === 'cleanup')
  assert.ok(cleanup, 'a cleanup record')
  assert.deepEqual(cleanup.leftovers, [])
  const made = cleanup.made as Rec[]
  const problems: string[] = []
  const ours = new Set<number>()
  for (const m of made.filter((x) => x.what === 'process')) {
    ours.add(m.pid)
    if (startOf(m.pid)?.start === Number(m.start)) problems.push(`process ${m.comm} ${m.pid} is still there (${startOf(m.pid)?.state})`)
  }
  const sandboxIds = new Set(r.lab.filter((x) => x.kind === 'sandbox').map((x) => x.sandboxId as string))
  for (const e of r.trace.filter((x) => x.type === 'event')) {
    for (const p of [e.from, e.to, e.proc, e.reaper, e.child, e.parent]) if (p && sandboxIds.has(p.sandbox)) ours.add(p.pid)
  }
  const madeNs = made.filter((x) => x.what === 'namespace')
  const inMadeNamespace = (pid: number): boolean => madeNs.some((ns) => nsHolders(ns.type, ns.inode).includes(pid))
  for (const pid of ours) {
    if (made.some((m) => m.what === 'process' && m.pid === pid)) continue
    const st = startOf(pid)
    // A PID the trace saw, alive now and started before the lab ended: the same process, unless
    // the PID was reused meanwhile (possible on a busy machine, so off CI it must also still be
    // in one of the lab's namespaces).
    if (st && st.start <= r.endTicks && (CI || inMadeNamespace(pid))) problems.push(`process ${pid}, seen in the lab's sandboxes, is still there (${st.state})`)
  }
  for (const ns of madeNs) {
    const held = nsHolders(ns.type, ns.inode).filter((pid) => {
      const st = startOf(pid)
      return st !== undefined && st.start <= r.endTicks && (CI || ours.has(pid))
    })
    if (held.length) problems.push(`${ns.type} namespace ${ns.inode} still holds ${held.join(', ')}`)
  }
  // podman's pods and containers are asked of podman; the cri runtime's went with its containerd
  const podman = made.some((m) => m.what === 'pod')
  const env = {...process.env, CONTAINERS_CONF: podman ? podmanEnv().containersConf : undefined}
  for (const m of made.filter((x) => podman && (x.what === 'pod' || x.what === 'container'))) {
    const rc = await exitCode('podman', [m.what, 'exists', m.id], env)
    if (rc !== 1) problems.push(`${m.what} ${m.name} ${m.id}: podman ${m.what} exists answered ${rc}`)
  }
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8') + readFileSync('/proc/1/mountinfo', 'utf8')
  for (const m of made) {
    if (m.what === 'container' && mountinfo.includes(m.id)) problems.push(`container ${m.id} still has a mount`)
    if (m.what === 'mount' && mountinfo.includes(` ${m.path} `)) problems.push(`${m.path} is still mounted`)
    if (m.what === 'directory' && existsSync(m.path)) problems.push(`${m.path} is still there`)
    if (m.what === 'directory' && mountinfo.includes(` ${m.path}/`)) problems.push(`something under ${m.path} is still mounted`)
    if (m.what === 'link' && existsSync(`/sys/class/net/${m.name}`)) problems.push(`link ${m.name} is still there`)
    if (m.what === 'cgroup') for (const d of cgroupDirsNamed(m.path)) problems.push(`cgroup ${d} is still there`)
  }
  assert.deepEqual(problems, [])
}

export const events = (r: LabRun): Rec[] => r.trace.filter((x) => x.type === 'event')
export const sandbox = (r: LabRun, name: string): Rec => r.lab.find((x) => x.kind === 'sandbox' && x.name === name) as Rec
export const container = (r: LabRun, name: string): Rec => r.lab.find((x) => x.kind === 'container' && x.name === name) as Rec

/** A cgroup directory at `rel` under the unified root or any v1 hierarchy. */
function cgroupDirsNamed(rel: string): string[] {
  const roots = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup', {withFileTypes: true}).filter((e) => e.isDirectory()).map((e) => path.join('/sys/fs/cgroup', e.name))]
  return roots.map((r) => path.join(r, rel)).filter((d) => existsSync(d))
}

/** The decisive events of each exercise, asserted on the trace itself (not through the lab's patterns). */
export const DECISIVE: Record<string, (r: LabRun, runtime: string) => void> = {
  'pause-anatomy'(r) {
    const a = sandbox(r, 'anatomy')
    const reaps = events(r).filter((e) => e.kind === 'reap' && e.reaper.pid === a.pausePid)
    assert.deepEqual(reaps.map((e) => [e.reaper.innerPid, e.reaper.role, e.syscall, e.options, e.status, e.statusFrom]), [[1, 'pause', 'wait4', ['WNOHANG'], {exited: 7}, 'exit']])
    const toPause = events(r).filter((e) => e.kind === 'signal' && e.to?.pid === a.pausePid && e.via === 'kill')
    assert.deepEqual(toPause.map((e) => [e.signame, e.result, e.to.innerPid]), [['SIGHUP', 'ignored', 1], ['SIGTERM', 'delivered', 1]])
    const b = sandbox(r, 'anatomy-int')
    // the process's own end (on cri, runc's Go threads exit under the same PID before the exec)
    assert.deepEqual(events(r).filter((e) => e.kind === 'exit' && e.groupDead && [a.pausePid, b.pausePid].includes(e.proc.pid)).map((e) => [e.proc.pid, e.code]), [[a.pausePid, 0], [b.pausePid, 0]])
  },
  'shared-pid'(r, runtime) {
    const t = sandbox(r, 'shared')
    const f = sandbox(r, 'own')
    const own = container(r, 'own-app')
    const reaps3 = events(r).filter((e) => e.kind === 'reap' && e.status.exited === 3)
    assert.deepEqual(reaps3.map((e) => [e.reaper.pid, e.reaper.innerPid, e.child.sandbox]).sort(), [[t.pausePid, 1, t.sandboxId], [own.pid, 1, f.sandboxId]].sort())
    const hups = events(r).filter((e) => e.kind === 'signal' && e.signame === 'SIGHUP')
    assert.deepEqual(hups.map((e) => [e.to.pid, e.to.innerPid, e.result]), [[t.pausePid, 1, runtime === 'podman' ? 'delivered' : 'ignored'], [own.pid, 1, 'ignored']])
  },
  'pid1-ignores-sigterm'(r) {
    const app = container(r, 'app')
    const sigs = events(r).filter((e) => e.kind === 'signal' && e.to?.pid === app.pid && e.via === 'kill')
    assert.deepEqual(sigs.map((e) => [e.signame, e.to.innerPid, e.from.role, e.result]), [['SIGTERM', 1, 'host', 'ignored'], ['SIGTERM', 1, 'container', 'ignored'], ['SIGKILL', 1, 'host', 'delivered']])
    assert.deepEqual(events(r).filter((e) => e.kind === 'exit' && e.proc.pid === app.pid && e.groupDead).map((e) => e.signal), [9])
  },
  zombies(r) {
    const keeper = container(r, 'keeper')
    const p = sandbox(r, 'pause-reaps')
    assert.deepEqual(events(r).filter((e) => e.kind === 'signal' && e.signame === 'SIGCHLD' && e.to?.pid === keeper.pid && e.code === 'CLD_EXITED').map((e) => [e.to.innerPid, e.result]).at(-1), [1, 'ignored'])
    assert.deepEqual(events(r).filter((e) => e.kind === 'reap' && e.status.exited === 4).map((e) => [e.reaper.pid, e.reaper.role]), [[p.pausePid, 'pause']])
  },
  'kill-pause'(r, runtime) {
    const s = sandbox(r, 'shared')
    const cs = container(r, 'shared-app')
    const co = container(r, 'own-app')
    assert.deepEqual(events(r).filter((e) => e.kind === 'signal' && e.via === 'kernel' && e.signame === 'SIGKILL' && e.to?.pid === cs.pid).map((e) => [e.from.pid, e.result]), [[s.pausePid, 'delivered']])
    assert.deepEqual(events(r).filter((e) => e.kind === 'signal' && e.to?.pid === co.pid && !/^runc/.test(e.from.comm)), [])
    if (runtime !== 'cri') return
    // the kubelet step: the container that lived on is stopped by the runtime, both pods run again
    assert.deepEqual(events(r).filter((e) => e.kind === 'signal' && e.to?.pid === co.pid && e.from.comm === 'runc').map((e) => [e.signame, e.to.innerPid, e.result]), [['SIGTERM', 1, 'ignored'], ['SIGKILL', 1, 'delivered']])
    for (const name of ['shared', 'own']) {
      const made = r.lab.filter((x) => x.kind === 'sandbox' && x.name === name)
      assert.equal(made.length, 2, `two sandboxes of pod ${name}`)
      const rec = r.trace.filter((x) => x.type === 'sandbox' && x.id === made[1].sandboxId).at(-1) as Rec
      assert.deepEqual([rec.runtime, rec.pod, rec.replaces, rec.pausePid, rec.hostNetwork], ['containerd', {name, namespace: 'pausetrace-lab', uid: rec.pod.uid, attempt: 1}, made[0].sandboxId, made[1].pausePid, false])
      const first = r.trace.filter((x) => x.type === 'sandbox' && x.id === made[0].sandboxId).at(-1) as Rec
      assert.deepEqual([first.pod.uid, first.pod.attempt, first.replaces], [rec.pod.uid, 0, null], 'the same pod UID, attempt 0 before')
    }
  },
  'stop-continue'(r) {
    const sup = container(r, 'supervisor')
    const reports = events(r).filter((e) => e.kind === 'reap' && e.reaper.pid === sup.pid)
    assert.deepEqual(reports.map((e) => [e.child.comm, e.status, e.options]), [
      ['worker', {stopped: 19}, ['WUNTRACED', 'WCONTINUED']],
      ['worker', {continued: true}, ['WUNTRACED', 'WCONTINUED']],
      ['worker', {signaled: 15, core: false}, ['WUNTRACED', 'WCONTINUED']],
    ])
  },
}

/** The findings each exercise must end with (docs/findings.md), whatever else it finds. */
const LAB_FINDINGS: Record<string, string[]> = {
  'pid1-ignores-sigterm': ['grace-period-exhausted', 'sigterm-ignored-by-pid1'],
  zombies: ['zombies'],
  'kill-pause': ['pause-died'],
}

export function assertLabFindings(r: LabRun, id: string, runtime: string): void {
  const kinds = r.findings.map((f) => f.kind as string)
  const want = [...(LAB_FINDINGS[id] ?? []), ...(id === 'kill-pause' && runtime === 'cri' ? ['sandbox-recreated'] : [])]
  for (const k of want) assert.ok(kinds.includes(k), `${id} on ${runtime}: a ${k} finding (got ${kinds.join(', ') || 'none'})`)
  // each names one of the lab's sandboxes, in time order
  const ids = new Set(r.lab.filter((x) => x.kind === 'sandbox').map((x) => x.sandboxId as string))
  assert.deepEqual(r.findings.filter((f) => !ids.has(f.sandbox as string)), [])
  assert.deepEqual(r.findings.map((f) => f.t as number), r.findings.map((f) => f.t as number).sort((a, b) => a - b))
  if (id === 'kill-pause') assert.equal(kinds.filter((k) => k === 'pause-died').length, 2, 'both pauses')
}
