// `zombies`: children left unreaped in a pod. A process that exits stays a zombie until its parent
// waits for it; the kernel's SIGCHLD names that parent (one sent with SIGCHLD ignored by SIG_IGN
// never comes, and then the kernel reaps at once: no zombie). A parent that keeps one for
// ZOMBIE_AGE_NS is leaking them: one finding per parent and episode (until it has none left),
// with how many it held then, the oldest, whether it ever waited, and whether a shared PID
// namespace (pause as PID 1) would have reaped them: only orphans go to PID 1.
import type {ExitEvent, ProcRef, SignalEvent, TraceEvent} from '../events/types.js'
import type {FindingContext, Rule} from './context.js'
import {capped} from '../util/capped-map.js'
import {at, duration, place, plural, who} from './words.js'

/** How long a zombie must stay unreaped, its parent alive, to be a leak (a reaper takes microseconds). */
export const ZOMBIE_AGE_NS = 2_000_000_000
const SIGCHLD = 17
/** Exits and forks kept for a SIGCHLD or a reap that may never come (a parent with SIGCHLD SIG_IGN) */
export const MAX_KEPT = 65_536

/**
 * The kernel's SIGCHLD that makes its sender a zombie until its parent (the target) waits: an
 * exit, a kill or a core dump (not a stop or a continue). A parent in a pod: a host process that
 * reaps a child which entered the pod's namespaces without a fork or exec there (nsenter,
 * unshare) is not traced reaping it.
 */
export function announcesZombie(e: SignalEvent): boolean {
  return e.sig === SIGCHLD && e.via === 'kernel' && e.to !== undefined && e.to.sandbox !== null && /^CLD_(EXITED|KILLED|DUMPED)$/.test(e.code ?? '')
}

interface Zombie {
  pid: number
  exit?: ExitEvent
  chld: SignalEvent
  /** since when it waits for this parent (its exit, or its adoption) */
  since: number
  parent: ProcRef
}

export class ZombieRule implements Rule {
  private zombies = new Map<number, Zombie>()
  /** exits not yet followed by their SIGCHLD (the same instant) */
  private exits = new Map<number, ExitEvent>()
  /** child → the PID that forked it, where the trace saw the fork */
  private forkedBy = new Map<number, number>()
  /** parents that reaped something in this trace: the time of their last reap */
  private waited = new Map<number, number>()
  /** parents whose current episode was reported */
  private reported = new Set<number>()
  private nextCheck = Infinity

  constructor(private readonly ctx: FindingContext) {}

  event(e: TraceEvent): void {
    switch (e.kind) {
      case 'fork':
        if (!e.thread) capped(this.forkedBy, MAX_KEPT).set(e.child.pid, e.parent.pid)
        break
      case 'exit':
        if (!e.groupDead) break
        capped(this.exits, MAX_KEPT).set(e.proc.pid, e)
        this.parentGone(e.proc.pid)
        break
      case 'signal':
        if (announcesZombie(e)) this.zombie(e)
        break
      case 'reap':
        this.waited.set(e.reaper.pid, e.t)
        this.exits.delete(e.child.pid)
        this.forkedBy.delete(e.child.pid)
        this.release(e.child.pid)
        break
    }
  }

  private zombie(chld: SignalEvent): void {
    const pid = chld.from.pid
    const exit = this.exits.get(pid)
    this.exits.delete(pid)
    const z: Zombie = {pid, exit: exit ?? this.zombies.get(pid)?.exit, chld, since: chld.t, parent: chld.to as ProcRef}
    this.zombies.set(pid, z)
    this.nextCheck = Math.min(this.nextCheck, z.since + ZOMBIE_AGE_NS)
  }

  private release(pid: number): void {
    const z = this.zombies.get(pid)
    if (!z) return
    this.zombies.delete(pid)
    if (![...this.zombies.values()].some((o) => o.parent.pid === z.parent.pid)) this.reported.delete(z.parent.pid)
  }

  /** A parent exited: its zombies go to a new parent (the kernel's SIGCHLD to it says which) or with the namespace. */
  private parentGone(pid: number): void {
    for (const z of [...this.zombies.values()]) if (z.parent.pid === pid) this.zombies.delete(z.pid)
    this.reported.delete(pid)
    this.waited.delete(pid)
  }

  /**
   * Lost events may hold the reaps of the zombies known now: none of them is reported (a false
   * leak is worse than a missed one; the trace's lost records say where it was blind).
   */
  lost(): void {
    this.zombies.clear()
    this.exits.clear()
    this.reported.clear()
  }

  advance(now: number): void {
    if (now < this.nextCheck) return
    this.nextCheck = Infinity
    const byParent = new Map<number, Zombie[]>()
    for (const z of this.zombies.values()) {
      const list = byParent.get(z.parent.pid)
      if (list) list.push(z)
      else byParent.set(z.parent.pid, [z])
    }
    for (const [parent, list] of byParent) {
      if (this.reported.has(parent)) continue
      const oldest = Math.min(...list.map((z) => z.since))
      if (now - oldest >= ZOMBIE_AGE_NS) this.report(list, now)
      else this.nextCheck = Math.min(this.nextCheck, oldest + ZOMBIE_AGE_NS)
    }
  }

  end(now: number): void {
    this.nextCheck = 0
    this.advance(now)
  }

  private report(list: Zombie[], now: number): void {
    const parent = list[list.length - 1].parent
    this.reported.add(parent.pid)
    const sorted = [...list].sort((a, b) => a.since - b.since)
    const sandboxId = parent.sandbox as string
    const sb = this.ctx.sandbox(sandboxId)
    const where = place(sb, sandboxId, parent.container)
    const names = sorted.slice(0, 3).map((z) => who(z.chld.from)).join(', ') + (sorted.length > 3 ? ', …' : '')
    const lastWait = this.waited.get(parent.pid)
    const waits = lastWait === undefined ? `${who(parent)} never called wait for a child in this trace` : `${who(parent)} reaped other children (last at ${at(lastWait)}), not these`
    const pid1 = parent.innerPid === 1 && parent.role !== 'pause'
    const adopted = sorted.filter((z) => this.forkedBy.has(z.pid) && this.forkedBy.get(z.pid) !== parent.pid).length
    const own = sorted.filter((z) => this.forkedBy.get(z.pid) === parent.pid).length
    let pause = ''
    if (pid1 && sb && !sb.sharedPidNamespace) {
      pause = adopted > 0 && own === 0
        ? ' They are orphans it adopted as PID 1: with shareProcessNamespace: true the pod\'s pause would have adopted and reaped them.'
        : own > 0 && adopted === 0
          ? ' They are its own children: a shared PID namespace would not help, only it can reap them.'
          : ' Orphans it adopted as PID 1 would go to pause, which reaps them, with shareProcessNamespace: true; its own children only it can reap.'
    }
    const role = pid1 ? ' (PID 1 of its namespace)' : ''
    this.ctx.emit({
      kind: 'zombies', severity: 'warning', sandbox: sandboxId, t: sorted[0].since, until: now,
      summary: `${where}: ${plural(sorted.length, 'zombie')} under ${who(parent)}${role}, the oldest ${duration(now - sorted[0].since)} (${names}); ${waits}.${pause}`,
      evidence: sorted.flatMap((z) => (z.exit ? [z.exit, z.chld] : [z.chld])),
      advice: pid1 && parent.role !== 'pause'
        ? `run an init that reaps (tini, dumb-init) as PID 1${sb && !sb.sharedPidNamespace ? ', or set shareProcessNamespace: true so that pause reaps orphans' : ''}, or make ${parent.comm || 'the program'} wait for its children`
        : `make ${parent.comm || 'the parent'} wait for its children (waitpid), or ignore SIGCHLD (SIG_IGN) so that the kernel reaps them`,
    })
  }
}
