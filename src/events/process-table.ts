// The process table: what is known of each task (by TID), the index from a PID inside a PID
// namespace to the host PID, the exit status of each process that exited and was not reaped
// yet, and the last fatal signal queued to each process. Fed by every line's actor; asks the
// live system (ProcResolver) only about tasks no line showed. Bounded: the oldest entries go.
// A signal's target is named when its line is read (it may be gone after the reorder window):
// from the actor of a line read shortly before when it acted itself, from /proc otherwise.
import type {Actor, Classifier, ProcInfo, ProcResolver} from './process-info.js'
import type {ProcRef, Role} from './types.js'
import {isRuntimeComm} from './runtime-procs.js'

const MAX_PROCS = 50_000
/** actors remembered from lines read (two generations of this many TIDs each) */
const RECENT_ACTORS = 4096
const SIGKILL = 9

export class ProcessTable {
  private readonly tasks = new Map<number, ProcInfo>()
  /** `<pidns>:<innerPid>` → host PID */
  private readonly hostPids = new Map<string, number>()
  /** per process (tgid): its exit_code, from its group-dead exit until its reap */
  private readonly exitStatuses = new Map<number, number>()
  /** per process (tgid): the last signal generated to it with result "delivered" that kills by default */
  private readonly lastFatalSignal = new Map<number, number>()
  /**
   * The actor of the latest line read (not yet decoded) per TID, while it had its namespaces: a
   * signal's target that acted shortly before is named from it, not from /proc. Two generations,
   * the older dropped whole when the newer fills: no per-line eviction.
   */
  private recent = new Map<number, Actor>()
  private older = new Map<number, Actor>()

  constructor(
    private readonly resolver?: ProcResolver,
    private readonly classifier?: Classifier,
    /** told when a PID inside a namespace gets (another) host PID: reaps may wait for it */
    private readonly onHostPid?: (pidns: number, innerPid: number) => void,
  ) {}

  /** The entry of a line's task, created or brought up to date from what the kernel read. */
  update(a: Actor, comm?: string, lookup = true): ProcInfo {
    let p = this.tasks.get(a.tid)
    if (!p) {
      if (this.tasks.size >= MAX_PROCS) this.tasks.delete(this.tasks.keys().next().value as number)
      p = {tid: a.tid, pid: a.pid, comm: comm ?? '', innerPid: a.innerPid, pidns: a.pidns, level: a.level, netns: a.netns, ipcns: a.ipcns, utsns: a.utsns, mntns: a.mntns, cgroupId: a.cgroupId, ppid: a.ppid}
      this.tasks.set(a.tid, p)
    } else {
      p.pid = a.pid
      p.innerPid = a.innerPid
      p.pidns = a.pidns
      p.level = a.level
      if (a.ppid) p.ppid = a.ppid
      if (a.cgroupId) p.cgroupId = a.cgroupId
      // An exiting task has lost its nsproxy: keep what was read while it had one.
      if (a.netns) p.netns = a.netns
      if (a.ipcns) p.ipcns = a.ipcns
      if (a.utsns) p.utsns = a.utsns
      if (a.mntns) p.mntns = a.mntns
    }
    if (comm !== undefined) p.comm = comm
    if (!p.comm && lookup) p.comm = this.commNow(a.tid) ?? ''
    if (a.level > 0) {
      const key = `${a.pidns}:${a.innerPid}`
      if (this.hostPids.get(key) !== a.pid) {
        this.hostPids.set(key, a.pid)
        this.onHostPid?.(a.pidns, a.innerPid)
      }
    }
    return p
  }

  /** A line was read (not decoded yet): its actor may name a signal's target soon. */
  sawActor(a: Actor): void {
    if (a.netns === 0) return // exiting: its namespaces are gone from what the kernel read
    if (this.recent.size >= RECENT_ACTORS) {
      this.older = this.recent
      this.recent = new Map()
    }
    this.recent.set(a.tid, a)
  }

  /** A fork line was read: what a task of that TID did before is not the new child's. */
  sawFork(parent: Actor, childTid: number): void {
    this.recent.delete(childTid)
    this.older.delete(childTid)
    this.sawActor(parent)
  }

  /**
   * A signal's target, when its line is read: kept from a line read shortly before where the
   * target acted, else from the live system, unless the table knows it already.
   */
  findTarget(tid: number, comm: string): void {
    if (this.tasks.has(tid)) return
    const a = this.recent.get(tid) ?? this.older.get(tid)
    if (!a) {
      this.find(tid)
      return
    }
    if (this.tasks.size >= MAX_PROCS) this.tasks.delete(this.tasks.keys().next().value as number)
    const p: ProcInfo = {tid, pid: a.pid, comm, innerPid: a.innerPid, pidns: a.pidns, level: a.level, netns: a.netns, ipcns: a.ipcns, utsns: a.utsns, mntns: a.mntns, cgroupId: a.cgroupId, ppid: a.ppid}
    if (!comm) p.comm = this.commNow(tid) ?? ''
    this.tasks.set(tid, p)
    if (p.level > 0) this.hostPids.set(`${p.pidns}:${p.innerPid}`, p.pid)
  }

  /** A task's name from the live system now, if it still runs. */
  commNow(tid: number): string | undefined {
    const r = this.resolver
    return r?.comm ? r.comm(tid) : r?.task(tid)?.comm
  }

  /** A task by TID: from the table, else from the live system (then kept). */
  find(tid: number): ProcInfo | undefined {
    let p = this.tasks.get(tid)
    if (!p) {
      p = this.resolver?.task(tid)
      if (p) {
        this.tasks.set(tid, p)
        if (p.level > 0 && p.innerPid !== null) this.hostPids.set(`${p.pidns}:${p.innerPid}`, p.pid)
      }
    }
    return p
  }

  /** A task by TID from the table only (a reaped child: the live system no longer knows it). */
  known(tid: number): ProcInfo | undefined {
    return this.tasks.get(tid)
  }

  /** The task as a trace event names it, with its sandbox and role. */
  procRef(p: ProcInfo): ProcRef {
    const c: {sandbox: string | null; role: Role; container?: string} = this.classifier?.classify(p) ?? {sandbox: null, role: 'host'}
    const ref: ProcRef = {pid: p.pid, tid: p.tid, comm: p.comm, innerPid: p.innerPid, sandbox: c.sandbox, role: c.role}
    if (c.container !== undefined) ref.container = c.container
    if (isRuntimeComm(p.comm)) ref.runtime = true
    return ref
  }

  /** procRef of a task known only by TID (pid: its process when the line tells it). */
  procRefOfTid(tid: number, comm?: string, pid?: number): ProcRef {
    const p = this.find(tid)
    if (p) {
      if (comm) p.comm = comm
      return this.procRef(p)
    }
    const ref: ProcRef = {pid: pid ?? tid, tid, comm: comm ?? '', innerPid: null, sandbox: null, role: 'host'}
    if (isRuntimeComm(ref.comm)) ref.runtime = true
    return ref
  }

  /** The host PID of a PID inside a PID namespace, from the lines seen or the live system. */
  hostPid(pidns: number, innerPid: number): number | undefined {
    return this.hostPids.get(`${pidns}:${innerPid}`) ?? this.resolver?.hostPid(pidns, innerPid)
  }

  /** The exit_code of a process that exited and was not reaped (or a zombie from before the trace). */
  exitStatus(pid: number): number | undefined {
    return this.exitStatuses.get(pid) ?? this.resolver?.zombieStatus(pid)
  }

  /** A fork or clone: the child's entry, always fresh (its TID may be a reused one with a stale entry). */
  forked(parent: ProcInfo, childTid: number, thread: boolean): ProcInfo {
    const child: ProcInfo = thread
      ? {...parent, tid: childTid, innerPid: parent.innerPid}
      : {...parent, tid: childTid, pid: childTid, innerPid: null, ppid: parent.pid}
    this.tasks.set(childTid, child)
    if (!thread) {
      // a reused PID: what was known of the process that had it is not this one's
      this.exitStatuses.delete(childTid)
      this.lastFatalSignal.delete(childTid)
    }
    return child
  }

  /** The last thread of a process exited: its status waits for its reap. */
  exited(pid: number, exitCode: number): void {
    this.lastFatalSignal.delete(pid)
    this.exitStatuses.set(pid, exitCode)
  }

  /** A child reaped for good (exited or killed, not stopped): its status and inner PID are free again. */
  reaped(hostPid: number, child: ProcInfo | undefined): void {
    // The entry stays (flood totals and late lines may still name it) until the table is full.
    this.exitStatuses.delete(hostPid)
    if (child && child.innerPid !== null) this.hostPids.delete(`${child.pidns}:${child.innerPid}`)
  }

  /**
   * A signal_generate to this task, at its place in time. Returns whether its process had
   * already exited (a zombie: the signal has no effect); else remembers a fatal signal queued
   * to it, for groupKillFor().
   */
  signalGenerated(targetTid: number, sig: number, result: number): boolean {
    const to = this.tasks.get(targetTid)
    if (!to) return false
    if (this.exitStatuses.has(to.pid)) return true
    if (result === 0 && killsByDefault(sig)) {
      this.lastFatalSignal.set(to.pid, sig)
      if (this.lastFatalSignal.size > MAX_PROCS) this.lastFatalSignal.delete(this.lastFatalSignal.keys().next().value as number)
    }
    return false
  }

  /**
   * A signal delivered to a process. A SIGKILL taken by its default action that nobody sent is
   * the kernel carrying out a fatal signal on every thread (complete_signal's group kill): the
   * fatal signal is returned. A signal that reached a handler or SIG_IGN was not fatal: forgotten.
   */
  groupKillFor(pid: number, sig: number, byDefault: boolean): number | undefined {
    const queued = this.lastFatalSignal.get(pid)
    if (sig === SIGKILL && byDefault) return queued !== undefined && queued !== SIGKILL ? queued : undefined
    if (queued === sig) this.lastFatalSignal.delete(pid)
    return undefined
  }
}

/** Whether a signal's default action ends the process (not ignore, not stop). */
function killsByDefault(sig: number): boolean {
  return sig !== 17 && sig !== 18 && sig !== 23 && sig !== 28 && (sig < 19 || sig > 22)
}
