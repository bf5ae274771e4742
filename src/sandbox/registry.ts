// Processes → sandboxes. A sandbox is the set of processes sharing net, ipc and uts namespaces
// other than the host's (id `netns:<inode>`), or, for processes with the host's three but a PID
// namespace of their own, that PID namespace (id `pidns:<inode>`). Its pause is the member that is
// PID 1 of its PID namespace and is named like an infra process; a sandbox may have none.
// Pure: fed ProcEntry values and metadata, it answers which sandbox and role a process has.
import type {ProcEntry, NsType} from './scan.js'
import type {ProcInfo, Classifier} from '../events/process-info.js'
import type {Role, SandboxRecord} from '../events/types.js'

export interface PodMeta {
  runtime: SandboxRecord['runtime']
  pod: SandboxRecord['pod']
  hostNetwork?: boolean
  /** host PID → container name, for the members the runtime names */
  containers?: Record<number, string>
}

export interface Sandbox {
  id: string
  key: string
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
  /** host PID → container name, where the runtime names them */
  containers?: Record<number, string>
}

const INFRA_NAMES = new Set(['pause', 'catatonit'])

export function isInfraProcess(p: ProcEntry): boolean {
  if (p.nspid.at(-1) !== 1) return false
  if (INFRA_NAMES.has(p.comm)) return true
  const exe = p.cmdline[0] ?? ''
  const base = exe.slice(exe.lastIndexOf('/') + 1)
  return INFRA_NAMES.has(base)
}

export function sandboxKey(ns: {net: number; ipc: number; uts: number}): string {
  return `${ns.net}:${ns.ipc}:${ns.uts}`
}

function isHostTriple(ns: {net: number; ipc: number; uts: number}, host: {net: number; ipc: number; uts: number}): boolean {
  return ns.net === host.net && ns.ipc === host.ipc && ns.uts === host.uts
}

/** Groups a /proc snapshot into sandboxes; metadata (pod names, runtime) is looked up by `meta`. */
export function groupSandboxes(procs: ProcEntry[], host: Record<NsType, number>, meta: (s: Sandbox, pause: ProcEntry | undefined, members: ProcEntry[]) => PodMeta | undefined = () => undefined): Sandbox[] {
  const groups = new Map<string, ProcEntry[]>()
  const zombies: ProcEntry[] = []
  for (const p of procs) {
    if (p.ns.net === 0 || p.ns.ipc === 0 || p.ns.uts === 0) {
      zombies.push(p)
      continue
    }
    let key: string
    if (!isHostTriple(p.ns, host)) key = `netns:${p.ns.net}|${sandboxKey(p.ns)}`
    else if (p.ns.pid !== 0 && p.ns.pid !== host.pid) key = `pidns:${p.ns.pid}|`
    else continue
    let g = groups.get(key)
    if (!g) groups.set(key, (g = []))
    g.push(p)
  }
  // A zombie has lost net/ipc/uts: it belongs where its PID namespace is, else with its parent.
  const byPidns = new Map<number, string>()
  for (const [key, g] of groups) for (const p of g) if (p.ns.pid !== host.pid && !byPidns.has(p.ns.pid)) byPidns.set(p.ns.pid, key)
  const byPid = new Map<number, string>()
  for (const [key, g] of groups) for (const p of g) byPid.set(p.pid, key)
  for (const z of zombies) {
    const key = (z.ns.pid !== host.pid ? byPidns.get(z.ns.pid) : undefined) ?? byPid.get(z.ppid)
    if (key) groups.get(key)?.push(z)
  }

  const out: Sandbox[] = []
  for (const [key, members] of groups) {
    const [id, triple] = key.split('|')
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
    if (triple) {
      ns.net = live[0]?.ns.net ?? 0
      ns.ipc = live[0]?.ns.ipc ?? 0
      ns.uts = live[0]?.ns.uts ?? 0
    }
    if (pidns) ns.pid = pidns
    const s: Sandbox = {
      id, key: triple || id, runtime: 'namespaces', pod: null, pausePid: pause?.pid ?? null,
      sharedNamespaces: shared, sharedPidNamespace: sharedPid, ns, members: members.map((p) => p.pid).sort((a, b) => a - b),
      memberPidns: [...new Set(members.map((p) => p.ns.pid).filter((n) => n !== 0 && n !== host.pid))],
    }
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
  return rec
}

/**
 * Answers the decoder's question "which sandbox, which role" for a process, from what is known
 * now. Unknown sandboxes (made after the last scan) are reported to `onUnknown` and named from
 * the namespaces alone until a scan knows more.
 */
export class SandboxIndex implements Classifier {
  private byKey = new Map<string, Sandbox>()
  private byPidns = new Map<number, Sandbox>()
  private byId = new Map<string, Sandbox>()
  /** bumped whenever a sandbox is added or changes, per id */
  readonly versions = new Map<string, number>()

  constructor(
    private readonly host: Record<NsType, number>,
    private readonly onUnknown?: (info: ProcInfo) => void,
    /** told when an event changed what is known of a sandbox (its PID namespace is shared) */
    private readonly onLearned?: (id: string) => void,
  ) {}

  /** Replaces what is known with a fresh grouping; returns the ids that are new or changed. */
  update(sandboxes: Sandbox[]): string[] {
    const changed: string[] = []
    for (const s of sandboxes) {
      const old = this.byId.get(s.id)
      // Once a process was seen sharing the pause's PID namespace, it is shared for the
      // sandbox's life, even when a later scan finds only the pause alive.
      if (old?.sharedPidNamespace && !s.sharedPidNamespace && old.pausePid === s.pausePid && old.ns.pid === s.ns.pid) s.sharedPidNamespace = true
      if (!old || JSON.stringify(sandboxRecord(old)) !== JSON.stringify(sandboxRecord(s))) {
        changed.push(s.id)
        this.versions.set(s.id, (this.versions.get(s.id) ?? 0) + 1)
      }
      this.put(s)
    }
    return changed
  }

  private put(s: Sandbox): void {
    this.byId.set(s.id, s)
    if (s.id.startsWith('netns:')) this.byKey.set(s.key, s)
    for (const n of s.memberPidns) if (n !== this.host.pid) this.byPidns.set(n, s)
  }

  get(id: string): Sandbox | undefined {
    return this.byId.get(id)
  }

  all(): Sandbox[] {
    return [...this.byId.values()]
  }

  /** The sandbox of a process from its namespaces (read in the kernel or from /proc). */
  find(info: Pick<ProcInfo, 'netns' | 'ipcns' | 'utsns' | 'pidns'>): Sandbox | undefined {
    if (info.netns && info.ipcns && info.utsns) {
      const triple = {net: info.netns, ipc: info.ipcns, uts: info.utsns}
      if (!isHostTriple(triple, this.host)) return this.byKey.get(sandboxKey(triple))
    }
    if (info.pidns && info.pidns !== this.host.pid) return this.byPidns.get(info.pidns)
    return undefined
  }

  classify(info: ProcInfo): {sandbox: string | null; role: Role} {
    let s = this.find(info)
    if (!s && this.isSandboxed(info)) {
      this.onUnknown?.(info)
      s = this.find(info)
    }
    if (!s) return {sandbox: null, role: 'host'}
    if (info.level > 0 && info.innerPid === 1 && INFRA_NAMES.has(info.comm) && info.pid !== s.pausePid && (s.pausePid === null || info.pidns !== s.ns.pid)) {
      // Learned from an event: the infra process, PID 1 of its namespace — of a sandbox made after
      // the scan, or a new pause in a sandbox whose namespace inode was reused (a re-created pod).
      s.pausePid = info.pid
      s.ns.pid = info.pidns
      if (!s.memberPidns.includes(info.pidns)) s.memberPidns.push(info.pidns)
      this.byPidns.set(info.pidns, s)
      this.versions.set(s.id, (this.versions.get(s.id) ?? 0) + 1)
      this.onLearned?.(s.id)
    }
    const isPause = s.pausePid !== null && info.pid === s.pausePid
    if (!isPause && !s.sharedPidNamespace && s.pausePid !== null && info.pidns !== 0 && info.pidns === s.ns.pid) {
      // Learned from an event: another process lives in the pause's PID namespace.
      s.sharedPidNamespace = true
      this.versions.set(s.id, (this.versions.get(s.id) ?? 0) + 1)
      this.onLearned?.(s.id)
    }
    return {sandbox: s.id, role: isPause ? 'pause' : 'container'}
  }

  private isSandboxed(info: Pick<ProcInfo, 'netns' | 'ipcns' | 'utsns' | 'pidns'>): boolean {
    if (info.netns && info.ipcns && info.utsns && !isHostTriple({net: info.netns, ipc: info.ipcns, uts: info.utsns}, this.host)) return true
    return info.pidns !== 0 && info.pidns !== this.host.pid
  }
}
