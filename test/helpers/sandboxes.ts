// Real sandboxes for end-to-end tests: podman pods (catatonit infra, busybox containers run from
// a directory) and bare-namespace sandboxes whose PID 1 is the lab pause. Everything made here is
// tracked by id and PID so that cleanupAll() can remove it, and prove it is gone, after a failure.
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {ensurePause} from '../../src/lab/build-pause.js'
import {caughtSignals, readComm, readStat, readStatus, statusNumbers, type Stat} from '../../src/proc/read.js'
import {childrenOf, waitFor} from './e2e.js'

const execFileAsync = promisify(execFile)

/** Every pod and container this process makes is named with this prefix. */
export const NAME_PREFIX = `pausetrace-e2e-${process.pid}-`

export const CONTAINERS_CONF_TEXT = `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
`

const BUSYBOX_APPLETS = ['sh', 'sleep', 'kill', 'cat', 'echo', 'ps', 'ls', 'true', 'false', 'grep', 'readlink']

// ---------------------------------------------------------------------------------------------
// PIDs: identified by (pid, start time) so a reused PID is never mistaken for ours.

interface TrackedPid {
  pid: number
  start: string
  what: string
}

const trackedPids = new Map<number, TrackedPid>()

const procStat = (pid: number): Stat | undefined => readStat(pid)

function trackPid(pid: number, what: string): void {
  const st = procStat(pid)
  if (pid > 0 && st) trackedPids.set(pid, {pid, start: st.start, what})
}

/** Still our process and not a zombie. */
function isAlive(t: TrackedPid): boolean {
  const st = procStat(t.pid)
  return st !== undefined && st.start === t.start && st.state !== 'Z'
}

function killTracked(pid: number, signal: NodeJS.Signals): void {
  const t = trackedPids.get(pid)
  if (!t || !isAlive(t)) return
  try {
    process.kill(pid, signal)
  } catch {
    // exited in between
  }
}

/** The `NSpid:` line of /proc/PID/status: host PID first, innermost PID last. */
export function nsPids(pid: number): number[] {
  const status = readStatus(pid)
  if (!status?.has('NSpid')) throw new Error(`/proc/${pid}/status has no NSpid line`)
  return statusNumbers(status, 'NSpid', pid)
}

/** The namespace link target, e.g. `pid:[4026532252]`. */
export function nsLink(pid: number, ns: 'pid' | 'net' | 'ipc' | 'uts' | 'mnt' | 'cgroup'): string {
  return readlinkSync(`/proc/${pid}/ns/${ns}`)
}

// ---------------------------------------------------------------------------------------------
// podman

export interface PodmanEnv {
  dir: string
  containersConf: string
  rootfs: string
}

let podmanEnvCache: PodmanEnv | undefined

/** The temp dir with the CONTAINERS_CONF file and the busybox rootfs, made once per process. */
export function podmanEnv(): PodmanEnv {
  if (podmanEnvCache) return podmanEnvCache
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-sandboxes-'))
  const containersConf = path.join(dir, 'containers.conf')
  writeFileSync(containersConf, CONTAINERS_CONF_TEXT)
  const rootfs = path.join(dir, 'rootfs')
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(path.join(rootfs, d), {recursive: true, mode: 0o755})
  copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'))
  for (const a of BUSYBOX_APPLETS) symlinkSync('busybox', path.join(rootfs, 'bin', a))
  podmanEnvCache = {dir, containersConf, rootfs}
  process.once('exit', () => rmSync(dir, {recursive: true, force: true}))
  return podmanEnvCache
}

/** Runs `podman ARGS` (argument array, CONTAINERS_CONF set) and returns its trimmed stdout. */
export async function podman(args: string[]): Promise<string> {
  const env = {...process.env, CONTAINERS_CONF: podmanEnv().containersConf}
  try {
    const {stdout} = await execFileAsync('podman', args, {env, maxBuffer: 16 * 1024 * 1024, timeout: 60_000})
    return stdout.trim()
  } catch (error) {
    const e = error as Error & {stderr?: string}
    throw new Error(`podman ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`)
  }
}

export interface Pod {
  podId: string
  infraId: string
  infraPid: number
  name: string
}

export interface PodContainer {
  ctrId: string
  pid: number
  name: string
}

const trackedPods = new Map<string, Pod | {podId: string; name: string}>()
let podmanUsed = false

function prefixed(name: string): string {
  const full = name.startsWith(NAME_PREFIX) ? name : NAME_PREFIX + name
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(full)) throw new Error(`not a valid podman name: ${full}`)
  return full
}

async function podmanPid(id: string): Promise<number> {
  return Number(await podman(['inspect', '--format', '{{.State.Pid}}', id]))
}

/** `podman pod create --name NAME_PREFIX+name [--share +pid]`, then starts it (infra: `catatonit -P`). */
export async function createPod(opts: {name: string; sharePid: boolean}): Promise<Pod> {
  podmanUsed = true
  const name = prefixed(opts.name)
  const podId = await podman(['pod', 'create', '--name', name, ...(opts.sharePid ? ['--share', '+pid'] : [])])
  trackedPods.set(podId, {podId, name})
  await podman(['pod', 'start', podId])
  const infraId = await podman(['pod', 'inspect', '--format', '{{.InfraContainerID}}', podId])
  const infraPid = await podmanPid(infraId)
  if (!(infraPid > 0)) throw new Error(`pod ${name}: the infra container ${infraId} has no PID after start`)
  trackPid(infraPid, `infra of pod ${name}`)
  const pod = {podId, infraId, infraPid, name}
  trackedPods.set(podId, pod)
  return pod
}

/** `podman run -d --pod POD --rootfs BUSYBOX_DIR CMD...`; pid is the host PID of CMD (0 if it already exited). */
export async function runInPod(pod: Pod, opts: {name: string; cmd: string[]}): Promise<PodContainer> {
  const name = prefixed(opts.name)
  const ctrId = await podman(['run', '-d', '--pod', pod.podId, '--name', name, '--rootfs', podmanEnv().rootfs, ...opts.cmd])
  const pid = await podmanPid(ctrId)
  trackPid(pid, `container ${name}`)
  return {ctrId, pid, name}
}

/**
 * `podman pod rm -f -t SECONDS ID` (0 by default): the pod, its infra and every container in it.
 * With a timeout, each container's PID 1 is sent SIGTERM first, SIGKILL after SECONDS.
 */
export async function removePod(pod: {podId: string}, opts: {stopTimeout?: number} = {}): Promise<void> {
  await podman(['pod', 'rm', '-f', '-t', String(opts.stopTimeout ?? 0), pod.podId])
  trackedPods.delete(pod.podId)
}

// ---------------------------------------------------------------------------------------------
// bare namespaces: unshare + the lab pause

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface NsSandbox {
  /** true: processes run with execInNsSandbox join the pause's PID namespace (shareProcessNamespace). */
  sharePid: boolean
  unsharePid: number
  /** Host PID of the sandbox's PID 1 (the pause). */
  pausePid: number
  child: ChildProcess
  /** unshare's exit, which is the pause's (unshare --fork passes its child's status on). */
  exited: Promise<Exit>
  stderr: () => string
}

export interface NsProcess {
  /** nsenter (with its own unshare exec'd in it for a private PID namespace). */
  child: ChildProcess
  launcherPid: number
  /** Host PID of the command itself; 0 if it exited before it was seen. */
  pid: number
  exited: Promise<Exit>
  stdout: () => string
  stderr: () => string
}

const sandboxes = new Set<NsSandbox>()
const nsProcesses = new Map<NsProcess, NsSandbox>()

const SIGTERM_BIT = 1n << 14n


function spawnTracked(cmd: string, args: string[]): {child: ChildProcess; exited: Promise<Exit>; stdout: () => string; stderr: () => string} {
  const child = spawn(cmd, args, {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({code, signal})))
  child.on('error', () => undefined) // spawn failures surface through the waits below
  if (child.pid) trackPid(child.pid, `${cmd} ${args.join(' ')}`)
  return {child, exited, stdout: () => out, stderr: () => err}
}

/**
 * `unshare --pid --fork --net --ipc --uts --mount-proc --kill-child PAUSE`: resolves once the
 * pause is PID 1 of the new namespace and has installed its handlers (a SIGTERM sent before that
 * would be dropped by the kernel, PID 1 having no handler yet).
 */
export async function startNsSandbox(opts: {sharePid: boolean; pausePath?: string}): Promise<NsSandbox> {
  const pausePath = opts.pausePath ?? (await ensurePause())
  const {child, exited, stderr} = spawnTracked('unshare', ['--pid', '--fork', '--net', '--ipc', '--uts', '--mount-proc', '--kill-child', pausePath])
  const unsharePid = child.pid ?? 0
  let done: Exit | undefined
  void exited.then((e) => (done = e))
  let pausePid = 0
  const sb: NsSandbox = {sharePid: opts.sharePid, unsharePid, pausePid, child, exited, stderr}
  sandboxes.add(sb)
  await waitFor(() => {
    if (done) throw new Error(`unshare exited early (${JSON.stringify(done)}): ${stderr().trim()}`)
    pausePid = childrenOf(unsharePid)[0] ?? 0
    try {
      return pausePid > 0 && readComm(pausePid) === 'pause' && (caughtSignals(pausePid) & SIGTERM_BIT) !== 0n
    } catch {
      return false
    }
  }, 10_000, `the pause of an unshare sandbox (unshare PID ${unsharePid}) to be ready`)
  sb.pausePid = pausePid
  trackPid(pausePid, 'pause of a namespace sandbox')
  return sb
}

/**
 * Runs CMD inside the sandbox. pidNs 'shared' (the default when the sandbox has sharePid):
 * `nsenter -t PAUSE --pid --net --ipc --uts --mount -- CMD`, a process of the pause's PID
 * namespace (orphans are reparented to the pause). 'own': `nsenter -t PAUSE --net --ipc --uts --
 * unshare --pid --fork --mount-proc --kill-child CMD`, PID 1 of a namespace of its own that
 * shares the sandbox's net/ipc/uts (a container of a pod without shareProcessNamespace).
 */
export async function execInNsSandbox(sb: NsSandbox, cmd: string[], opts: {pidNs?: 'shared' | 'own'} = {}): Promise<NsProcess> {
  const pidNs = opts.pidNs ?? (sb.sharePid ? 'shared' : 'own')
  const target = String(sb.pausePid)
  const args =
    pidNs === 'shared'
      ? ['-t', target, '--pid', '--net', '--ipc', '--uts', '--mount', '--', ...cmd]
      : ['-t', target, '--net', '--ipc', '--uts', '--', 'unshare', '--pid', '--fork', '--mount-proc', '--kill-child', ...cmd]
  const {child, exited, stdout, stderr} = spawnTracked('nsenter', args)
  const launcherPid = child.pid ?? 0
  const proc: NsProcess = {child, launcherPid, pid: 0, exited, stdout, stderr}
  nsProcesses.set(proc, sb)
  let done = false
  void exited.then(() => (done = true))
  // The command is the launcher's child once it has exec'd (its comm is no longer the launcher's).
  await waitFor(() => {
    if (done) return true
    for (const c of childrenOf(launcherPid)) {
      const comm = readComm(c) // undefined: gone already
      if (comm !== undefined && comm !== 'nsenter' && comm !== 'unshare') {
        proc.pid = c
        return true
      }
    }
    return false
  }, 10_000, `${cmd.join(' ')} to start in the sandbox`)
  if (proc.pid) trackPid(proc.pid, cmd.join(' '))
  return proc
}

/** execInNsSandbox with `sh -c SCRIPT`. */
export function shInNsSandbox(sb: NsSandbox, script: string, opts: {pidNs?: 'shared' | 'own'} = {}): Promise<NsProcess> {
  return execInNsSandbox(sb, ['sh', '-c', script], opts)
}

async function settle(p: Promise<Exit>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)))
  const ok = await Promise.race([p.then(() => true as const), timeout])
  clearTimeout(timer)
  return ok
}

/** SIGKILLs (by PID) the pause (and so its whole PID namespace), unshare and the sandbox's own-PID-ns processes. */
export async function stopNsSandbox(sb: NsSandbox): Promise<void> {
  // Inside out: the pause (its PID namespace goes with it) and the commands first, so that each
  // launcher reaps its child and exits by itself; a launcher killed first would orphan its child
  // to the host's init, which may take seconds to reap it.
  const mine = [...nsProcesses].filter(([, owner]) => owner === sb).map(([p]) => p)
  killTracked(sb.pausePid, 'SIGKILL')
  for (const p of mine) killTracked(p.pid, 'SIGKILL')
  const all = Promise.all([sb.exited, ...mine.map((p) => p.exited)]).then(() => ({code: 0, signal: null}))
  if (!(await settle(all, 2000))) {
    killTracked(sb.unsharePid, 'SIGKILL')
    for (const p of mine) killTracked(p.launcherPid, 'SIGKILL')
    if (!(await settle(all, 10_000))) throw new Error(`namespace sandbox (pause PID ${sb.pausePid}) did not stop within 10 s`)
  }
  for (const p of mine) nsProcesses.delete(p)
  sandboxes.delete(sb)
}

// ---------------------------------------------------------------------------------------------
// cleanup

async function listOurs(): Promise<{pods: string[]; containers: string[]}> {
  const pods = (await podman(['pod', 'ps', '--no-trunc', '--format', '{{.Id}} {{.Name}}'])).split('\n').filter((l) => l.split(' ')[1]?.startsWith(NAME_PREFIX))
  const containers = (await podman(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}}'])).split('\n').filter((l) => l.split(' ')[1]?.startsWith(NAME_PREFIX))
  return {pods, containers}
}

/**
 * For afterEach: stops every namespace sandbox and process, removes every pod (by id), then
 * throws if a pod or container with NAME_PREFIX or a tracked PID is still there (after
 * removing what it found, so one failure does not leak into the next test).
 */
export async function cleanupAll(): Promise<void> {
  const problems: string[] = []
  for (const sb of [...sandboxes]) await stopNsSandbox(sb).catch((e: Error) => problems.push(e.message))
  for (const p of [...nsProcesses.keys()]) {
    killTracked(p.pid, 'SIGKILL')
    killTracked(p.launcherPid, 'SIGKILL')
    if (!(await settle(p.exited, 10_000))) problems.push(`nsenter PID ${p.launcherPid} did not exit`)
    nsProcesses.delete(p)
  }
  for (const pod of [...trackedPods.values()]) await removePod(pod).catch((e: Error) => problems.push(e.message))
  if (podmanUsed) {
    const left = await listOurs()
    for (const l of left.pods) {
      problems.push(`pod left behind: ${l}`)
      await podman(['pod', 'rm', '-f', '-t', '0', l.split(' ')[0]]).catch(() => undefined)
    }
    for (const l of left.containers) {
      problems.push(`container left behind: ${l}`)
      await podman(['rm', '-f', '-t', '0', l.split(' ')[0]]).catch(() => undefined)
    }
  }
  const end = Date.now() + 10_000
  while ([...trackedPids.values()].some(isAlive) && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
  for (const t of trackedPids.values()) {
    if (isAlive(t)) {
      problems.push(`process left alive: PID ${t.pid} (${t.what})`)
      try {
        process.kill(t.pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
  }
  trackedPids.clear()
  if (problems.length > 0) throw new Error(`sandbox cleanup found leftovers:\n  ${problems.join('\n  ')}`)
}

/** The process state letter (R, S, Z...) or undefined once it is reaped. */
export function pidState(pid: number): string | undefined {
  return procStat(pid)?.state
}
