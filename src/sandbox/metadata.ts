// Pod names and runtimes for sandboxes, best source first: the CRI socket (cri-client.ts), podman
// (`podman ps --pod`), kubelet's /var/log/pods, the pod UID in cgroup paths, and namespaces alone.
// Sources are asked with a time limit and their answers cached briefly, so a scan of a busy node
// asks each source once; the CRI is only ever asked asynchronously.
import {execFile, execFileSync, type ChildProcess} from 'node:child_process'
import {readdirSync} from 'node:fs'
import type {MetaSource} from './tracker.js'
import type {PodMeta, RuntimePod, Sandbox} from './registry.js'
import type {ProcEntry} from './scan.js'
import {parseProcCgroup, podFromCgroup, type CgroupPod} from './cgroup.js'
import {indexPodLogDirs} from './kubelet-logs.js'
import {criSnapshot, newCriCache, type CriPod, type CriSnapshot} from './cri.js'
import {CRI_SOCKET_ENV, CriClient, criEndpoints, explainCriError, type CriEndpoint} from './cri-client.js'
import {parsePodmanPs, type PodmanContainer} from './podman.js'
import {findOnPath} from '../util/which.js'
import {EnvironmentError} from '../errors.js'

export interface MetaInputs {
  /** podman containers (with their host PIDs and pod names), when podman answered */
  podman?: PodmanContainer[]
  /** the CRI runtime's pods and containers, when its socket answered */
  cri?: CriSnapshot
  /** /var/log/pods directory names */
  podLogDirs?: string[]
}

const MAX_PARENT_WALK = 64

/**
 * The container of each member, by name: the container id in the member's cgroup path (every CRI
 * runtime puts it there, and a process forked inside the container inherits it), else the member
 * is a container's first process, else it descends from one.
 */
export function containerNames(pod: CriPod, members: ProcEntry[]): Record<number, string> {
  const out: Record<number, string> = {}
  const byPid = new Map(pod.containers.filter((c) => c.pid !== null).map((c) => [c.pid as number, c.name]))
  for (const m of members) {
    const c = (m.cgroup !== '' ? pod.containers.find((cc) => cc.id.length >= 12 && m.cgroup.includes(cc.id)) : undefined)?.name ?? byPid.get(m.pid)
    if (c !== undefined && c !== '') out[m.pid] = c
  }
  const parent = new Map(members.map((m) => [m.pid, m.ppid]))
  for (const m of members) {
    let p = m.ppid
    for (let i = 0; out[m.pid] === undefined && i < MAX_PARENT_WALK && parent.has(p); i++) {
      if (out[p] !== undefined) out[m.pid] = out[p]
      p = parent.get(p) as number
    }
  }
  return out
}

/** The CRI pod of a sandbox: its pause's PID, else a member that is a container's, else the pod UID of a cgroup. */
function criPodOf(snap: CriSnapshot, pause: ProcEntry | undefined, members: ProcEntry[], cgroupUid: string | null): CriPod | undefined {
  const pids = new Set(members.map((m) => m.pid))
  return (
    (pause ? snap.pods.find((p) => p.ready && p.pid === pause.pid) ?? snap.pods.find((p) => p.pid === pause.pid) : undefined) ??
    snap.pods.find((p) => p.containers.some((c) => c.pid !== null && pids.has(c.pid))) ??
    (cgroupUid ? snap.pods.find((p) => p.ready && p.uid === cgroupUid) : undefined)
  )
}

function criMeta(snap: CriSnapshot, pod: CriPod, members: ProcEntry[]): PodMeta {
  const meta: PodMeta = {runtime: snap.runtime, pod: {name: pod.name, namespace: pod.namespace || null, uid: pod.uid || null, attempt: pod.attempt}}
  if (pod.hostNetwork !== null) meta.hostNetwork = pod.hostNetwork
  const containers = containerNames(pod, members)
  if (Object.keys(containers).length > 0) meta.containers = containers
  return meta
}

/** Pure: the CRI's ready pods as PID sets, for grouping (a pod the CRI gives no PID for is left to the namespaces). */
export function criRuntimePods(snap: CriSnapshot | undefined): RuntimePod[] {
  if (!snap) return []
  return snap.pods
    .filter((p) => p.ready)
    .map((p) => ({pausePid: p.pid, pids: p.containers.flatMap((c) => (c.pid !== null ? [c.pid] : []))}))
    .filter((p) => p.pausePid !== null || p.pids.length > 0)
}

/** Pure: the pod of a sandbox from its members' cgroups and what the sources said. */
export function resolvePodMeta(s: Sandbox, pause: ProcEntry | undefined, members: ProcEntry[], inputs: MetaInputs): PodMeta | undefined {
  const cg: CgroupPod | undefined = [pause, ...members]
    .filter((p): p is ProcEntry => p !== undefined && p.cgroup !== '')
    .map((p) => podFromCgroup(parseProcCgroup(p.cgroup)))
    .find((c) => !c.conmon && (c.podUid !== null || c.podmanPodId !== null))
  // The CRI runtime that made the sandbox knows its pod and its containers: that is the truth.
  if (inputs.cri) {
    const pod = criPodOf(inputs.cri, pause, members, cg?.podUid ?? null)
    if (pod) return criMeta(inputs.cri, pod, members)
  }
  // podman: a member's PID is a container's PID in a pod (the infra's, or any other's)
  if (inputs.podman?.length) {
    const byPid = new Map(inputs.podman.filter((c) => c.pid !== null).map((c) => [c.pid as number, c]))
    const hit = (pause && byPid.get(pause.pid)) || members.map((m) => byPid.get(m.pid)).find((c) => c?.podId)
    if (hit?.podId) {
      const name = hit.podName ?? inputs.podman.find((c) => c.podId === hit.podId && c.podName)?.podName ?? hit.podId.slice(0, 12)
      return {runtime: 'podman', pod: {name, namespace: null, uid: hit.podId}}
    }
  }
  if (!cg) return undefined
  if (cg.runtime === 'podman' && cg.podmanPodId) return {runtime: 'podman', pod: {name: cg.podmanPodId.slice(0, 12), namespace: null, uid: cg.podmanPodId}}
  if (cg.podUid) {
    const uid = cg.podUid
    const logs = indexPodLogDirs(inputs.podLogDirs ?? []).get(uid)
    if (logs) return {runtime: 'kubernetes', pod: {name: logs.name, namespace: logs.namespace, uid}}
    // Only the UID is known: it stands in for the name.
    return {runtime: 'kubernetes', pod: {name: uid, namespace: null, uid}}
  }
  return undefined
}

const RUN_OPTS = {timeout: 5000, maxBuffer: 64 * 1024 * 1024}
/**
 * The first, synchronous answer is waited for longer: it comes before bpftrace starts (nothing
 * waits on it), and podman's first command on a busy or new machine can take several seconds.
 */
const FIRST_TIMEOUT_MS = 20_000

function run(cmd: string, args: string[], timeout = RUN_OPTS.timeout): string | undefined {
  const exe = findOnPath(cmd)
  if (!exe) return undefined
  try {
    return execFileSync(exe, args, {...RUN_OPTS, timeout, stdio: ['ignore', 'pipe', 'ignore']}).toString()
  } catch {
    return undefined
  }
}

/** A command run in the background; `running` holds it until it ends, so a close can end it. */
function runAsync(cmd: string, args: string[], running: Set<ChildProcess>): Promise<string | undefined> {
  const exe = findOnPath(cmd)
  if (!exe) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    const child = execFile(exe, args, RUN_OPTS, (err, stdout) => {
      running.delete(child)
      resolve(err ? undefined : stdout)
    })
    running.add(child)
    child.stdin?.end()
  })
}

/** Resolves once every child has exited (reaped by node), or after `ms`. */
function exited(children: ChildProcess[], ms: number): Promise<void> {
  const left = children.filter((c) => c.exitCode === null && c.signalCode === null)
  if (left.length === 0) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    timer.unref()
    let n = left.length
    for (const c of left) {
      c.once('exit', () => {
        if (--n === 0) {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  })
}

function podLogDirs(dir: string | undefined): string[] {
  try {
    return readdirSync(dir ?? '/var/log/pods')
  } catch {
    return []
  }
}

const PODMAN_ARGS = ['ps', '-a', '--pod', '--format', 'json']

export interface PodMetadataOptions {
  ttlMs?: number
  podLogsDir?: string
  /**
   * Refresh in the background once the first answer is stale (a live trace): the event loop,
   * and with it the bpftrace pipe, never waits for podman (~0.1–0.2 s, seconds on a loaded node)
   * or the CRI socket. Until a refresh lands, the last answer is used; `onRefresh` is told when
   * the answer changed, so that the caller can look again.
   */
  background?: boolean
  onRefresh?: () => void
  /** `--cri-socket`; else $PAUSETRACE_CRI_SOCKET, else the runtimes' standard sockets */
  criSocket?: string
  /** the environment to read PAUSETRACE_CRI_SOCKET from (tests) */
  env?: NodeJS.ProcessEnv
}

/** How the CRI side went, for a command that must say why no pod is named. */
export interface CriState {
  /** the socket that answered, or the one asked last */
  endpoint?: CriEndpoint
  snapshot?: CriSnapshot
  /** why no socket answered (one line), when none did */
  error?: string
}

export type PodMetadata = MetaSource & {
  runtimePods(): RuntimePod[]
  /**
   * Asks every source now, without blocking, and waits at most `timeoutMs` for the answers (the
   * look before a trace or a `pods` listing). Throws only when a socket given by flag or
   * environment is not there (EnvironmentError/UsageError with the fix).
   */
  ready(timeoutMs: number): Promise<CriState>
  cri(): CriState
  /**
   * Before the last look of a trace: an answer that is at most `freshMs` old, waiting at most
   * `timeoutMs` for it (the refresh running, or a new one). A pod made shortly before the end
   * is then named by its runtime, not by its id alone.
   */
  settle(freshMs: number, timeoutMs: number): Promise<void>
  /**
   * Closes the CRI connection and ends the commands still running (SIGKILL); resolves once they
   * have exited (at most 2 s): the process can then exit without leaving one to the node's init.
   */
  close(): Promise<void>
}

/** The live source: asks the CRI socket, podman and /var/log/pods at most once per `ttlMs`. */
export function podMetadata(opts: PodMetadataOptions = {}): PodMetadata {
  let inputs: MetaInputs | undefined
  let raw = ''
  let at = 0
  let refreshing = false
  /** the background refresh running, if one is */
  let inFlight: Promise<unknown> | undefined
  let lastPs: string | undefined
  const criState: CriState = {}
  let criKey = ''
  const criSide = criSource(opts, criState)
  // podman commands still running in the background: a closed source ends them (by their own
  // child handle), so that nothing of pausetrace's outlives it.
  const running = new Set<ChildProcess>()
  let closed = false

  /** askedAt: when the answer was asked for (it knows what existed then) */
  const set = (ps: string | undefined, askedAt = Date.now()): boolean => {
    // A source that answered before and fails now (a time-out on a loaded node) keeps its last
    // answer: a pod must not turn into bare namespaces, and back, because podman was slow once.
    if (ps === undefined) ps = lastPs
    lastPs = ps
    const snap = criState.snapshot
    const text = `${ps ?? ''}\0${criKey}`
    const changed = text !== raw
    raw = text
    inputs = {podman: ps ? parsePodmanPs(ps) : undefined, cri: snap, podLogDirs: podLogDirs(opts.podLogsDir)}
    at = askedAt
    return changed
  }
  const refreshCri = async (): Promise<void> => {
    const snap = await criSide.refresh()
    if (snap) criKey = JSON.stringify(snap.pods)
  }
  const refreshAll = async (): Promise<boolean> => {
    const askedAt = Date.now()
    const [ps] = await Promise.all([runAsync('podman', PODMAN_ARGS, running), refreshCri()])
    return set(ps, askedAt)
  }
  const load = (): MetaInputs => {
    if (inputs && Date.now() - at < (opts.ttlMs ?? 2000)) return inputs
    if (!inputs || !opts.background) {
      // Not a live trace, or the very first look of one: podman is asked synchronously (its
      // answer is needed now); the CRI never is, its answer comes through ready() or a refresh.
      const askedAt = Date.now()
      set(run('podman', PODMAN_ARGS, inputs ? RUN_OPTS.timeout : FIRST_TIMEOUT_MS), askedAt)
      if (opts.background) kick(true)
      return inputs as MetaInputs
    }
    kick(false)
    return inputs
  }
  const kick = (criOnly: boolean): void => {
    if (refreshing || closed) return
    refreshing = true
    inFlight = (criOnly ? refreshCri().then(() => set(undefined)) : refreshAll()).then((changed) => {
      refreshing = false
      inFlight = undefined
      if (changed) opts.onRefresh?.()
    })
  }
  const source = (s: Sandbox, pause: ProcEntry | undefined, members: ProcEntry[]): PodMeta | undefined => resolvePodMeta(s, pause, members, load())
  return Object.assign(source, {
    runtimePods: () => criRuntimePods(load().cri),
    async ready(timeoutMs: number): Promise<CriState> {
      criSide.check()
      let timer: NodeJS.Timeout | undefined
      const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
      refreshing = true
      await Promise.race([refreshAll().then(() => undefined), limit])
      refreshing = false
      clearTimeout(timer)
      return criState
    },
    cri: () => criState,
    async settle(freshMs: number, timeoutMs: number): Promise<void> {
      if (closed || !inputs) return
      const started = Date.now()
      let timer: NodeJS.Timeout | undefined
      const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
      // a refresh that started before the end may predate what the trace saw last: one more after it
      if (inFlight) await Promise.race([inFlight, limit])
      if (at < started - freshMs && Date.now() - started < timeoutMs) {
        kick(false)
        if (inFlight) await Promise.race([inFlight, limit])
      }
      clearTimeout(timer)
    },
    close: async () => {
      closed = true
      const ending = [...running]
      running.clear()
      criSide.close()
      for (const child of ending) child.kill('SIGKILL')
      await exited(ending, 2000)
    },
  })
}

/**
 * The CRI side: which sockets to try (resolved once), a connection to the first that answers,
 * and the per-id cache of statuses. Nothing here throws once `check` has passed.
 */
function criSource(opts: PodMetadataOptions, state: CriState): {check(): void; refresh(): Promise<CriSnapshot | undefined>; close(): void} {
  let endpoints: CriEndpoint[] | undefined
  let client: CriClient | undefined
  let closed = false
  const cache = newCriCache()
  const resolve = (): CriEndpoint[] => (endpoints ??= criEndpoints({flag: opts.criSocket, env: (opts.env ?? process.env)[CRI_SOCKET_ENV] || undefined}))
  return {
    check: () => void resolve(),
    async refresh() {
      let list: CriEndpoint[]
      try {
        list = resolve()
      } catch (err) {
        // a wrong socket in the environment of a live trace: the trace goes on without the CRI
        state.error = (err as Error).message
        return undefined
      }
      if (closed || list.length === 0) return undefined
      // the socket that answered last is asked first; the others only while none answers
      const order = client ? [client.endpoint, ...list.filter((e) => e.path !== client?.endpoint.path)] : list
      for (const ep of order) {
        try {
          if (client?.endpoint.path !== ep.path) {
            client?.close()
            client = await CriClient.open(ep)
          }
          if (closed) break
          const snap = await criSnapshot(client, cache, state.endpoint?.path === ep.path ? state.snapshot?.version : undefined)
          Object.assign(state, {endpoint: ep, snapshot: snap, error: undefined})
          return snap
        } catch (err) {
          state.endpoint = ep
          state.error = `${ep.path}: ${explainCriError(err)}`
        }
      }
      return undefined
    },
    close() {
      closed = true
      client?.close()
      client = undefined
    },
  }
}

/** For `pods`: the CRI socket given by flag or environment must answer (exit 3 with the fix). */
export function requireCriAnswer(state: CriState, given: boolean): void {
  if (!given || state.snapshot) return
  throw new EnvironmentError(`the CRI socket did not answer: ${state.error ?? 'no answer in time'}; start the runtime, or give its socket with --cri-socket.`, 'CRI_SOCKET')
}
