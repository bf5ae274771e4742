// The live side of sandboxes: a /proc scan at the start, a targeted look at a process whose
// namespaces are not known yet, and a debounced rescan afterwards (never a rescan per event).
// Feeds the SandboxIndex that classifies every event's processes.
import {groupSandboxes, type PodMeta, type RuntimePod, type Sandbox} from './registry.js'
import {SandboxIndex} from './sandbox-index.js'
import {hostNamespaces, readProcEntry, scanProc, type NsType, type ProcEntry} from './scan.js'
import type {ProcInfo} from '../events/process-info.js'

export type MetaSource = ((s: Sandbox, pause: ProcEntry | undefined, members: ProcEntry[]) => PodMeta | undefined) & {
  /** the pods a runtime names with their PIDs: grouped as it says, before any namespace rule */
  runtimePods?: () => RuntimePod[]
  /** what the CRI side knows: an endpoint once a socket was found (answering or not) */
  cri?: () => {endpoint?: unknown}
}

export interface TrackerOptions {
  meta?: MetaSource
  /** told the ids of sandboxes that are new or changed after a rescan */
  onChange?: (ids: string[]) => void
  rescanDelayMs?: number
  root?: string
}

/** how long an unnamed sandbox of a CRI node keeps the looks coming */
const UNNAMED_LOOK_MS = 30_000

export class SandboxTracker {
  readonly host: Record<NsType, number>
  readonly index: SandboxIndex
  private timer?: NodeJS.Timeout
  private lastScan = 0
  private procs: ProcEntry[] = []
  /** namespaces already looked at since the last scan, so a burst of events costs one look */
  private tried = new Set<string>()
  private stopped = false
  /** per sandbox not named on a node with a CRI socket: when a look first found it so */
  private unnamedSince = new Map<string, number>()

  constructor(private readonly opts: TrackerOptions = {}) {
    this.host = hostNamespaces(opts.root)
    this.index = new SandboxIndex(this.host, (info) => this.unknown(info), (id) => this.opts.onChange?.([id]), () => this.scheduleRescan())
  }

  /** Full scan; returns the ids that are new or changed. */
  scan(): string[] {
    this.index.newLook()
    this.procs = scanProc(this.opts.root, this.host)
    this.lastScan = Date.now()
    this.tried.clear()
    this.index.criPresent = this.opts.meta?.cri?.().endpoint !== undefined
    const ids = this.index.update(groupSandboxes(this.procs, this.host, this.opts.meta, this.opts.meta?.runtimePods?.()))
    this.lookAgainWhileUnnamed()
    return ids
  }

  /**
   * A CRI pod made after the runtime was last asked is bare namespaces until a look after the
   * runtime's next answer; its idle pause makes no event that would ask for one. So while a
   * sandbox of a CRI node is unnamed, look again (2 s apart, the runtime asked in the background),
   * for at most UNNAMED_LOOK_MS after it was first found.
   */
  private lookAgainWhileUnnamed(): void {
    if (!this.index.criPresent) return
    const now = Date.now()
    let again = false
    for (const s of this.index.all()) {
      if (s.pod !== null) {
        this.unnamedSince.delete(s.id)
        continue
      }
      const since = this.unnamedSince.get(s.id) ?? now
      this.unnamedSince.set(s.id, since)
      if (now - since < UNNAMED_LOOK_MS) again = true
    }
    if (again) this.scheduleRescan()
  }

  get processes(): ProcEntry[] {
    return this.procs
  }

  /** Host PIDs of every task in a sandbox at the last scan (threads included by the caller). */
  sandboxPids(): number[] {
    return this.index.all().flatMap((s) => s.members)
  }

  private unknown(info: ProcInfo): void {
    const key = `${info.netns}:${info.ipcns}:${info.utsns}:${info.pidns}`
    if (this.tried.has(key)) return
    this.tried.add(key)
    // Name it from what is at hand now, so the event is classified at once...
    const e = readProcEntry(info.pid, this.opts.root)
    const entry: ProcEntry = e && e.ns.net !== 0 ? e : {
      pid: info.pid, ppid: info.ppid, comm: info.comm, cmdline: [], state: 'R', nspid: info.innerPid !== null && info.level > 0 ? [info.pid, info.innerPid] : [info.pid],
      ns: {cgroup: 0, ipc: info.ipcns, mnt: info.mntns, net: info.netns, pid: info.pidns, time: 0, user: 0, uts: info.utsns}, cgroup: '',
    }
    const ids = this.index.add(groupSandboxes([entry], this.host, this.opts.meta, this.opts.meta?.runtimePods?.()))
    this.opts.onChange?.(ids)
    // ...and learn the rest (the other members, the pause, the pod's name) soon after.
    this.scheduleRescan()
  }

  scheduleRescan(): void {
    if (this.timer || this.stopped) return
    const wait = Math.max(this.opts.rescanDelayMs ?? 300, 2000 - (Date.now() - this.lastScan))
    this.timer = setTimeout(() => {
      this.timer = undefined
      const ids = this.scan()
      if (ids.length) this.opts.onChange?.(ids)
    }, wait)
    this.timer.unref()
  }

  /** No more rescans on their own (a direct `scan()` still works: the last look before the footer). */
  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }
}
