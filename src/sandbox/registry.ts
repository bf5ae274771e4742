// Processes → sandboxes. A sandbox is the set of processes that share a pod's namespaces: its own
// net namespace (id `netns:<inode>`); on the host's network (a hostNetwork pod), its own IPC
// namespace (`ipcns:<inode>`), else its own UTS namespace (`utsns:<inode>`); with the host's three,
// its own PID namespace (`pidns:<inode>`). Where a CRI runtime names a pod's processes, the groups
// that hold them are one sandbox, whatever their namespaces say. Its pause is the member that is
// PID 1 of its PID namespace and is named like an infra process; a sandbox may have none.
// Pure: fed ProcEntry values and metadata, it groups them (sandbox-index.ts keeps the groups live).
import type {ProcEntry, NsType} from './scan.js'
import type {SandboxRecord} from '../events/types.js'

export interface PodMeta {
  runtime: SandboxRecord['runtime']
  pod: SandboxRecord['pod']
  hostNetwork?: boolean
  /** host PID → container name, for the members the runtime names */
  containers?: Record<number, string>
}

export interface Sandbox {
  id: string
  /** the namespace groups it is made of (see groupKey); more than one when a runtime joined them */
  keys: string[]
  runtime: SandboxRecord['runtime']
  pod: SandboxRecord['pod']
  pausePid: number | null
  sharedNamespaces: string[]
  sharedPidNamespace: boolean
  ns: Record<string, number>
  /** host PIDs of the members, pause included */
  members: number[]
  /** every PID namespace a member is in (a zombie is found through it) */
  memberPidns: number[]
  hostNetwork?: boolean
  /** host PIDs → container name, where the runtime names them */
  containers?: Record<number, string>
  /** the earlier sandbox of the same pod UID, once one was seen (SandboxIndex sets it) */
  replaces?: string | null
}

/** The host PIDs a runtime says are one pod: its pause (or null) and its containers' first processes. */
export interface RuntimePod {
  pausePid: number | null
  pids: number[]
}

export const INFRA_NAMES = new Set(['pause', 'catatonit'])

export function isInfraProcess(p: ProcEntry): boolean {
  if (p.nspid.at(-1) !== 1) return false
  if (INFRA_NAMES.has(p.comm)) return true
  const exe = p.cmdline[0] ?? ''
  const base = exe.slice(exe.lastIndexOf('/') + 1)
  return INFRA_NAMES.has(base)
}

type NsQuad = {net: number; ipc: number; uts: number; pid: number}

/**
 * The namespace group of a process and the sandbox id it gives, or undefined for the host's.
 * The net namespace alone decides when it is not the host's: every runtime gives a pod's
 * containers the pause's net namespace, but cri-dockerd gives each its own UTS namespace, so a
 * triple would split the pod. On the host's network (a hostNetwork pod) the IPC namespace is the
 * pod's own (Kubernetes shares the host's only with hostIPC), so it tells two such pods apart.
 */
export function groupKey(ns: NsQuad, host: Record<NsType, number>): {key: string; id: string} | undefined {
  if (ns.net !== host.net) return {key: `net:${ns.net}`, id: `netns:${ns.net}`}
  if (ns.ipc !== host.ipc) return {key: `ipc:${ns.ipc}`, id: `ipcns:${ns.ipc}`}
  if (ns.uts !== host.uts) return {key: `uts:${ns.uts}`, id: `utsns:${ns.uts}`}
  if (ns.pid !== 0 && ns.pid !== host.pid) return {key: `pid:${ns.pid}`, id: `pidns:${ns.pid}`}
  return undefined
}

interface Group {
  id: string
  keys: string[]
  members: ProcEntry[]
}

/**
 * The runtime's word over the namespaces': the groups holding a pod's pause and containers become
 * one, named after the pause's group (a hostNetwork+hostIPC pod whose containers each have a PID
 * namespace of their own, or any layout the namespaces alone would split).
 */
function joinRuntimePods(groups: Map<string, Group>, pods: RuntimePod[]): void {
  const byPid = new Map<number, Group>()
  for (const g of groups.values()) for (const p of g.members) byPid.set(p.pid, g)
  for (const pod of pods) {
    const first = pod.pausePid !== null ? byPid.get(pod.pausePid) : undefined
    const parts = [...new Set([first, ...pod.pids.map((pid) => byPid.get(pid))].filter((g): g is Group => g !== undefined))]
    const [into, ...rest] = parts
    for (const g of rest) {
      into.keys.push(...g.keys)
      into.members.push(...g.members)
      for (const p of g.members) byPid.set(p.pid, into)
      for (const k of g.keys) groups.delete(k)
    }
  }
}

/** Groups a /proc snapshot into sandboxes; metadata (pod names, runtime) is looked up by `meta`. */
export function groupSandboxes(
  procs: ProcEntry[], host: Record<NsType, number>,
  meta: (s: Sandbox, pause: ProcEntry | undefined, members: ProcEntry[]) => PodMeta | undefined = () => undefined,
  runtimePods: RuntimePod[] = [],
): Sandbox[] {
  // keyed by every key of the group (a joined group sits under each of its keys)
  const groups = new Map<string, Group>()
  const zombies: ProcEntry[] = []
  for (const p of procs) {
    if (p.ns.net === 0 || p.ns.ipc === 0 || p.ns.uts === 0) {
      zombies.push(p)
      continue
    }
    const k = groupKey(p.ns, host)
    if (!k) continue
    let g = groups.get(k.key)
    if (!g) groups.set(k.key, (g = {id: k.id, keys: [k.key], members: []}))
    g.members.push(p)
  }
  // A zombie has lost net/ipc/uts: it belongs where its PID namespace is, else with its parent.
  const byPidns = new Map<number, Group>()
  for (const g of groups.values()) for (const p of g.members) if (p.ns.pid !== host.pid && !byPidns.has(p.ns.pid)) byPidns.set(p.ns.pid, g)
  const byPid = new Map<number, Group>()
  for (const g of groups.values()) for (const p of g.members) byPid.set(p.pid, g)
  for (const z of zombies) {
    const g = (z.ns.pid !== host.pid ? byPidns.get(z.ns.pid) : undefined) ?? byPid.get(z.ppid)
    g?.members.push(z)
  }
  joinRuntimePods(groups, runtimePods)

  const out: Sandbox[] = []
  for (const g of new Set(groups.values())) {
    const {id, members} = g
    const live = members.filter((p) => p.ns.net !== 0)
    const candidates = live.filter(isInfraProcess).sort((a, b) => (a.startTicks ?? 0) - (b.startTicks ?? 0) || a.pid - b.pid)
    const pause = candidates[0]
    const shared: string[] = []
    for (const t of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'] as const) {
      const v = live[0]?.ns[t]
      // shared among the members, and the sandbox's own (not the host's: a hostPID pod shares no pid ns)
      if (v && v !== host[t] && live.every((p) => p.ns[t] === v)) shared.push(t)
    }
    const pidRef = pause ?? live.find((p) => p.ns.pid !== host.pid)
    const pidns = pidRef?.ns.pid ?? 0
    const sharedPid = pause ? live.some((p) => p !== pause && p.ns.pid === pause.ns.pid) : live.filter((p) => p.ns.pid === pidns && pidns !== host.pid).length > 1
    const ns: Record<string, number> = {}
    // the pause's namespaces are the pod's (a cri-dockerd container's UTS namespace is its own)
    const ref = pause ?? live[0]
    if (ref && !id.startsWith('pidns:')) {
      ns.net = ref.ns.net
      ns.ipc = ref.ns.ipc
      ns.uts = ref.ns.uts
    }
    if (pidns) ns.pid = pidns
    const s: Sandbox = {
      id, keys: g.keys, runtime: 'namespaces', pod: null, pausePid: pause?.pid ?? null,
      sharedNamespaces: shared, sharedPidNamespace: sharedPid, ns, members: members.map((p) => p.pid).sort((a, b) => a - b),
      memberPidns: [...new Set(members.map((p) => p.ns.pid).filter((n) => n !== 0 && n !== host.pid))],
    }
    // an infra process on the host's network is a hostNetwork pod's, whoever made it
    if (pause && pause.ns.net === host.net) s.hostNetwork = true
    const m = meta(s, pause, members)
    if (m) {
      s.runtime = m.runtime
      s.pod = m.pod
      if (m.hostNetwork !== undefined) s.hostNetwork = m.hostNetwork
      if (m.containers) s.containers = m.containers
    }
    out.push(s)
  }
  return out.sort((a, b) => a.id.localeCompare(b.id))
}

export function sandboxRecord(s: Sandbox): SandboxRecord {
  const rec: SandboxRecord = {type: 'sandbox', id: s.id, runtime: s.runtime, pod: s.pod, pausePid: s.pausePid, sharedNamespaces: s.sharedNamespaces, sharedPidNamespace: s.sharedPidNamespace, ns: s.ns}
  if (s.hostNetwork !== undefined) rec.hostNetwork = s.hostNetwork
  // A CRI runtime's pod (it gives the attempt) always says whether it replaces one; other
  // sandboxes carry the field only when one was seen, so their records stay as they were.
  if (s.replaces || (s.pod?.attempt !== undefined && s.pod.attempt !== null)) rec.replaces = s.replaces ?? null
  return rec
}
