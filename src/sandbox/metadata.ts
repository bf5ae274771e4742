// Pod names and runtimes for sandboxes, best source first: podman (`podman ps --pod`), CRI
// (`crictl pods`), kubelet's /var/log/pods, the pod UID in cgroup paths, and namespaces alone.
// Commands run with argument arrays and a time limit, and their answers are cached briefly, so a
// scan of a busy node asks each source once.
import {execFile, execFileSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import type {MetaSource} from './tracker.js'
import type {PodMeta, Sandbox} from './registry.js'
import type {ProcEntry} from './scan.js'
import {parseProcCgroup, podFromCgroup, type CgroupPod} from './cgroup.js'
import {indexPodLogDirs} from './kubelet-logs.js'
import {parseCrictlPods, type CriPodListItem} from './cri.js'
import {parsePodmanPs, type PodmanContainer} from './podman.js'
import {findOnPath} from '../util/which.js'

export interface MetaInputs {
  /** podman containers (with their host PIDs and pod names), when podman answered */
  podman?: PodmanContainer[]
  /** CRI pod list, when crictl answered */
  cri?: CriPodListItem[]
  /** /var/log/pods directory names */
  podLogDirs?: string[]
}

/** Pure: the pod of a sandbox from its members' cgroups and what the sources said. */
export function resolvePodMeta(s: Sandbox, pause: ProcEntry | undefined, members: ProcEntry[], inputs: MetaInputs): PodMeta | undefined {
  // podman: a member's PID is a container's PID in a pod (the infra's, or any other's)
  if (inputs.podman?.length) {
    const byPid = new Map(inputs.podman.filter((c) => c.pid !== null).map((c) => [c.pid as number, c]))
    const hit = (pause && byPid.get(pause.pid)) || members.map((m) => byPid.get(m.pid)).find((c) => c?.podId)
    if (hit?.podId) {
      const name = hit.podName ?? inputs.podman.find((c) => c.podId === hit.podId && c.podName)?.podName ?? hit.podId.slice(0, 12)
      return {runtime: 'podman', pod: {name, namespace: null, uid: hit.podId}}
    }
  }
  const cg: CgroupPod | undefined = [pause, ...members]
    .filter((p): p is ProcEntry => p !== undefined && p.cgroup !== '')
    .map((p) => podFromCgroup(parseProcCgroup(p.cgroup)))
    .find((c) => !c.conmon && (c.podUid !== null || c.podmanPodId !== null))
  if (!cg) return undefined
  if (cg.runtime === 'podman' && cg.podmanPodId) return {runtime: 'podman', pod: {name: cg.podmanPodId.slice(0, 12), namespace: null, uid: cg.podmanPodId}}
  if (cg.podUid) {
    const uid = cg.podUid
    const cri = inputs.cri?.find((p) => p.uid === uid)
    if (cri?.name) return {runtime: 'kubernetes', pod: {name: cri.name, namespace: cri.namespace, uid}}
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

function runAsync(cmd: string, args: string[]): Promise<string | undefined> {
  const exe = findOnPath(cmd)
  if (!exe) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    const child = execFile(exe, args, RUN_OPTS, (err, stdout) => resolve(err ? undefined : stdout))
    child.stdin?.end()
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
const CRICTL_ARGS = ['pods', '-o', 'json']

export interface PodMetadataOptions {
  ttlMs?: number
  podLogsDir?: string
  /**
   * Refresh in the background once the first answer is stale (a live trace): the event loop,
   * and with it the bpftrace pipe, never waits for podman or crictl (~0.1–0.2 s each, seconds
   * on a loaded node). Until a refresh lands, the last answer is used; `onRefresh` is told when
   * the answer changed, so that the caller can look again.
   */
  background?: boolean
  onRefresh?: () => void
}

/** The live source: asks podman, crictl and /var/log/pods at most once per `ttlMs`. */
export function podMetadata(opts: PodMetadataOptions = {}): MetaSource {
  let inputs: MetaInputs | undefined
  let raw = ''
  let at = 0
  let refreshing = false
  let lastPs: string | undefined
  let lastPods: string | undefined
  const set = (ps: string | undefined, pods: string | undefined): boolean => {
    // A source that answered before and fails now (a time-out on a loaded node) keeps its last
    // answer: a pod must not turn into bare namespaces, and back, because podman was slow once.
    if (ps === undefined) ps = lastPs
    if (pods === undefined) pods = lastPods
    lastPs = ps
    lastPods = pods
    const text = `${ps ?? ''}\0${pods ?? ''}`
    const changed = text !== raw
    raw = text
    inputs = {podman: ps ? parsePodmanPs(ps) : undefined, cri: pods ? parseCrictlPods(pods) : undefined, podLogDirs: podLogDirs(opts.podLogsDir)}
    at = Date.now()
    return changed
  }
  const load = (): MetaInputs => {
    if (inputs && Date.now() - at < (opts.ttlMs ?? 2000)) return inputs
    if (!inputs || !opts.background) {
      const timeout = inputs ? RUN_OPTS.timeout : FIRST_TIMEOUT_MS
      set(run('podman', PODMAN_ARGS, timeout), run('crictl', CRICTL_ARGS, timeout))
      return inputs as MetaInputs
    }
    if (!refreshing) {
      refreshing = true
      void Promise.all([runAsync('podman', PODMAN_ARGS), runAsync('crictl', CRICTL_ARGS)]).then(([ps, pods]) => {
        refreshing = false
        if (set(ps, pods)) opts.onRefresh?.()
      })
    }
    return inputs
  }
  return (s, pause, members) => {
    // Only sandboxes that look like pods cost a command: bare namespaces need no runtime.
    return resolvePodMeta(s, pause, members, load())
  }
}
