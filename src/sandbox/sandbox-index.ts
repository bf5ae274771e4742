// The live side of the registry: which sandbox and role a process has now, across looks. Keeps
// ids unique when the kernel reuses a namespace inode for another pod (`<id>~N`), names what a
// sandbox replaced, keeps container names of exited members, learns a pause or a shared PID
// namespace from events, and asks for a new look when a CRI sandbox's process is not named.
import {groupKey, INFRA_NAMES, sandboxRecord, type Sandbox} from './registry.js'
import type {NsType} from './scan.js'
import type {ProcInfo, Classifier} from '../events/process-info.js'
import type {Role, SandboxRecord} from '../events/types.js'
import {capped} from '../util/capped-map.js'

/**
 * A different pod (or another attempt of it) in the namespaces an earlier sandbox had: a new
 * sandbox whose namespace inode the kernel reused. Only a runtime's pod identity tells it; bare
 * namespaces have none, and keep their id (a new pause there is learned as the same sandbox's).
 */
function isSuccessor(old: Sandbox, s: Sandbox): boolean {
  if (!old.pod?.uid || !s.pod?.uid) return false
  if (old.pod.uid === s.pod.uid && (old.pod.attempt ?? 0) === (s.pod.attempt ?? 0)) return false
  // The same pause named better (the CRI's answer after a cgroup's guess) is the same sandbox;
  // the same source naming another pod or attempt, or another pause, is a new one.
  const otherPause = old.pausePid !== null && s.pausePid !== null && old.pausePid !== s.pausePid
  return otherPause || old.runtime === s.runtime
}

/**
 * The sandbox a new one of the same pod took over from: of the others with its pod UID, the one of
 * the highest lower attempt (the kubelet re-creates a dead sandbox with attempt + 1). Without
 * attempts on both (a pod named from cgroups or kubelet files) none is named: two groups of one
 * pod UID alive at once would look like one replacing the other.
 */
export function replacedBy(s: Sandbox, earlier: Sandbox[]): string | null {
  const uid = s.pod?.uid
  const attempt = s.pod?.attempt
  if (!uid || attempt === undefined || attempt === null) return null
  let best: Sandbox | undefined
  for (const o of earlier) {
    const oa = o.pod?.attempt
    if (o.id === s.id || o.pod?.uid !== uid || oa === undefined || oa === null) continue
    if (oa < attempt && (best?.pod?.attempt ?? -1) < oa) best = o
  }
  return best?.id ?? null
}

/** The namespace id a sandbox id stands on: `netns:4026532173~2` → `netns:4026532173` (the successor suffix of `update`). */
export function baseId(id: string): string {
  const cut = id.lastIndexOf('~')
  return cut < 0 ? id : id.slice(0, cut)
}

/** The runtimes that name containers (their CRI socket): only there can a new look name a new process's. */
const CRI_RUNTIMES = new Set<SandboxRecord['runtime']>(['containerd', 'cri-o', 'docker'])

/** Looks an unnamed process of a CRI sandbox may ask for (≥ 2 s apart: the tracker's rescans). */
const MAX_ASKS = 5

/**
 * Most names of exited members a sandbox keeps (a crash-looping container makes many). Past it,
 * those of the lowest PIDs go (object keys come in numeric order): rarely the newest, as PIDs wrap.
 */
const MAX_DEAD_NAMES = 256

/**
 * A new look's container names, plus the earlier names of members that are gone: a container's
 * exit and reap are decoded after the look that no longer lists it, and must still name it.
 */
function keepDeadContainers(old: Record<number, string>, s: Sandbox): Record<number, string> | undefined {
  const live = new Set(s.members)
  const dead = Object.entries(old).filter(([pid]) => !live.has(Number(pid))).slice(-MAX_DEAD_NAMES)
  if (dead.length === 0) return s.containers
  return {...Object.fromEntries(dead), ...s.containers}
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
  /**
   * The id now in use for a namespace id (`netns:<inode>`…): the kernel hands a freed namespace's
   * inode to the next one it makes, so a pod re-created at once may get its predecessor's very
   * inode. The successor then gets `<id>~<n>`, so that two sandboxes never share an id.
   */
  private current = new Map<string, string>()
  /**
   * A CRI socket exists on this node: an unnamed sandbox may then be a CRI pod made after the last
   * look, and a new process in it asks for a new look. Without one, bare namespaces cost no rescans.
   */
  criPresent = false
  /** bumped whenever a sandbox is added or changes, per id */
  readonly versions = new Map<string, number>()
  /** per sandbox id, its members at the last look, as a set (classify asks for every event) */
  private memberSets = new Map<string, Set<number>>()
  /** full looks so far (`newLook`) */
  private looks = 0
  /** per unnamed process of a CRI sandbox: the look it last asked for, and how many it asked for */
  private asked = new Map<number, {look: number; n: number}>()
  /**
   * Per sandbox id, its last look that named a pod with an attempt: what a re-created sandbox
   * replaced stays findable after a look that no longer names the earlier one (its pause is gone).
   */
  private named = new Map<string, Sandbox>()

  constructor(
    private readonly host: Record<NsType, number>,
    private readonly onUnknown?: (info: ProcInfo) => void,
    /** told when an event changed what is known of a sandbox (its PID namespace is shared) */
    private readonly onLearned?: (id: string) => void,
    /**
     * told when a process whose container is not named acts in a sandbox of a CRI runtime, or in
     * one not named yet (rationed: `askAbout`) (a CRI pod made after the last look is bare namespaces until the runtime is
     * asked again): only a new look, and the runtime asked again, can name it and its container
     */
    private readonly onNewMember?: (info: ProcInfo) => void,
  ) {}

  /** Replaces what is known with a fresh grouping; returns the ids that are new or changed. */
  update(sandboxes: Sandbox[]): string[] {
    const changed: string[] = []
    for (const s of sandboxes) {
      const base = s.id
      s.id = this.current.get(base) ?? base
      let old = this.byId.get(s.id)
      // A look in between that named no pod (the runtime did not list the new sandbox yet) says
      // nothing of whose it is: the last look that named one decides.
      const known = old?.pod?.uid ? old : (this.named.get(s.id) ?? old)
      if (known && isSuccessor(known, s)) {
        let n = 2
        while (this.byId.has(`${base}~${n}`)) n++
        s.id = `${base}~${n}`
        this.current.set(base, s.id)
        old = undefined
      }
      // Once a process was seen sharing the pause's PID namespace, it is shared for the
      // sandbox's life, even when a later scan finds only the pause alive.
      if (old?.sharedPidNamespace && !s.sharedPidNamespace && old.pausePid === s.pausePid && old.ns.pid === s.ns.pid) s.sharedPidNamespace = true
      // Once known, what it replaced stays known: the earlier sandbox may be long gone. One seen
      // in this same scan counts too (a dying sandbox and its successor, both listed).
      s.replaces = old?.replaces || replacedBy(s, [...this.named.values(), ...this.byId.values(), ...sandboxes])
      if (old?.containers) s.containers = keepDeadContainers(old.containers, s)
      // A look that knows less (the pause is gone, the runtime did not answer in time) does not
      // take back the pod of the same processes, or of what is left of it once its pause is gone
      // (a container started after the last full look): a dying sandbox's last records keep its name.
      if (old?.pod && !s.pod && (s.members.some((pid) => old.members.includes(pid)) || (s.pausePid === null && old.pausePid !== null))) {
        s.pod = old.pod
        s.runtime = old.runtime
        if (old.hostNetwork !== undefined && s.hostNetwork === undefined) s.hostNetwork = old.hostNetwork
      }
      if (!old || JSON.stringify(sandboxRecord(old)) !== JSON.stringify(sandboxRecord(s))) {
        changed.push(s.id)
        this.versions.set(s.id, (this.versions.get(s.id) ?? 0) + 1)
      }
      this.put(s)
    }
    return changed
  }

  /**
   * What a partial look found (one process, read when an event named a namespace no sandbox
   * had): adds the sandboxes not known yet, and never replaces a known one with its one member.
   */
  add(sandboxes: Sandbox[]): string[] {
    return this.update(sandboxes.filter((s) => !this.byId.has(s.id)))
  }

  private put(s: Sandbox): void {
    this.byId.set(s.id, s)
    if (s.pod?.uid && s.pod.attempt !== undefined && s.pod.attempt !== null) capped(this.named, 4096).set(s.id, s)
    this.memberSets.set(s.id, new Set(s.members))
    for (const k of s.keys) this.byKey.set(k, s)
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
      const k = groupKey({net: info.netns, ipc: info.ipcns, uts: info.utsns, pid: info.pidns}, this.host)
      // a sandbox's own net, IPC or UTS namespace decides; a PID namespace may be a joined group's
      if (k && !k.key.startsWith('pid:')) return this.byKey.get(k.key)
      const s = k ? this.byKey.get(k.key) : undefined
      if (s) return s
    }
    if (info.pidns && info.pidns !== this.host.pid) return this.byPidns.get(info.pidns)
    return undefined
  }

  classify(info: ProcInfo): {sandbox: string | null; role: Role; container?: string} {
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
    const container = isPause ? undefined : s.containers?.[info.pid]
    if (container === undefined && !isPause && (CRI_RUNTIMES.has(s.runtime) || (s.pod === null && this.criPresent))) this.askAbout(info)
    return container === undefined ? {sandbox: s.id, role: isPause ? 'pause' : 'container'} : {sandbox: s.id, role: 'container', container}
  }

  /**
   * A full look is starting: a process it finds in no sandbox is gone, and forgets its asks. (A
   * process still unnamed may ask again after this look: see `askAbout`.)
   */
  newLook(): void {
    this.looks++
    const live = new Set([...this.memberSets.values()].flatMap((m) => [...m]))
    for (const pid of this.asked.keys()) if (!live.has(pid)) this.asked.delete(pid)
  }

  /**
   * A process of a CRI sandbox the runtime has not named (yet) asks for a new look: at most once
   * per look, and for at most MAX_ASKS looks. A container is made, then started: the runtime may
   * have been asked in between, when it had no PID for it yet, and only another look names it.
   */
  private askAbout(info: ProcInfo): void {
    const a = this.asked.get(info.pid)
    if (a && (a.look === this.looks || a.n >= MAX_ASKS)) return
    this.asked.set(info.pid, {look: this.looks, n: (a?.n ?? 0) + 1})
    this.onNewMember?.(info)
  }

  private isSandboxed(info: Pick<ProcInfo, 'netns' | 'ipcns' | 'utsns' | 'pidns'>): boolean {
    if (info.netns && info.ipcns && info.utsns && groupKey({net: info.netns, ipc: info.ipcns, uts: info.utsns, pid: info.pidns}, this.host)) return true
    return info.pidns !== 0 && info.pidns !== this.host.pid
  }
}
