// The sandboxes of a timeline and their lanes: made on first sight, touched by every event that
// names them, bounded (the least recently active lane or sandbox goes first) while counts stay exact.
import type {ProcRef} from '../events/types.js'
import {HOST_SANDBOX, zeroSignals, type Entry, type Lane, type LaneItem, type SandboxState} from './types.js'

export interface LaneLimits {
  laneItems: number
  lanesPerSandbox: number
  sandboxes: number
  entriesPerSandbox: number
}

/** Appends to a ring of `cap` items: the oldest scroll out (shift: no array made per event, as splice would). */
export function push<T>(ring: T[], item: T, cap: number): void {
  ring.push(item)
  while (ring.length > cap) ring.shift()
}

export function sandboxIdOf(p: ProcRef): string {
  return p.sandbox ?? HOST_SANDBOX
}

export class SandboxLanes {
  readonly sandboxes = new Map<string, SandboxState>()
  /** set while feeding an event that names no sandbox process at all: only then do host processes get lanes */
  hostLanes = false
  private seq = 0

  /**
   * `keep`: a sandbox never dropped (a reader holds on to it: the view's selection);
   * `onDropped`: a sandbox was dropped (the trace-wide counter).
   */
  constructor(
    private readonly limits: LaneLimits,
    private readonly keep: (id: string) => boolean,
    private readonly onDropped: () => void,
  ) {}

  sandbox(id: string, t: number): SandboxState {
    let sb = this.sandboxes.get(id)
    if (!sb) {
      sb = {id, lanes: new Map(), entries: [], firstT: t, lastT: t, seq: this.seq++, counts: {events: 0, signals: zeroSignals(), exits: 0, reaps: 0, zombies: 0, flooded: 0, lanesDropped: 0}}
      this.sandboxes.set(id, sb)
      if (this.sandboxes.size > this.limits.sandboxes) this.dropSandbox(id)
    }
    return sb
  }

  /** The sandbox a process belongs to, when it has been seen. */
  sandboxOf(p: ProcRef): SandboxState | undefined {
    return this.sandboxes.get(sandboxIdOf(p))
  }

  private dropSandbox(keep: string): void {
    let victim: SandboxState | undefined
    for (const sb of this.sandboxes.values()) if (sb.id !== keep && !this.keep(sb.id) && (!victim || sb.lastT < victim.lastT)) victim = sb
    if (!victim) return
    this.sandboxes.delete(victim.id)
    this.onDropped()
  }

  /** The pause's lane, first in its sandbox, from its sandbox record (named once an event names it). */
  pauseLane(sb: SandboxState): void {
    const pid = sb.record?.pausePid
    if (!pid) return
    const lane = sb.lanes.get(pid)
    if (lane) {
      lane.role = 'pause'
      return
    }
    // The pause is PID 1 of its own PID namespace, in both layouts.
    const proc: ProcRef = {pid, comm: '', innerPid: 1, sandbox: sb.id, role: 'pause'}
    this.addLane(sb, proc, sb.lastT, false)
  }

  private addLane(sb: SandboxState, proc: ProcRef, t: number, named: boolean): Lane {
    const lane: Lane = {pid: proc.pid, proc, named, role: proc.role, items: [], firstT: t, lastT: t, received: new Map(), flooded: new Map(), reaped: 0}
    sb.lanes.set(proc.pid, lane)
    const pause = sb.record?.pausePid
    if (sb.lanes.size - (pause && sb.lanes.has(pause) ? 1 : 0) > this.limits.lanesPerSandbox) {
      // Drop the least recently active lane that is neither the pause nor a zombie (then any).
      let victim: Lane | undefined
      let vZombie = false
      for (const l of sb.lanes.values()) {
        if (l === lane || l.pid === pause) continue
        const zombie = l.exit !== undefined && !l.exit.released
        if (!victim || (vZombie && !zombie) || (vZombie === zombie && l.lastT < victim.lastT)) {
          victim = l
          vZombie = zombie
        }
      }
      if (victim) {
        sb.lanes.delete(victim.pid)
        sb.counts.lanesDropped++
      }
    }
    return lane
  }

  findLane(p: ProcRef): Lane | undefined {
    return this.sandboxOf(p)?.lanes.get(p.pid)
  }

  /** The lane of a process (made on first sight). Host processes get lanes only when `hostLanes` is set. */
  lane(p: ProcRef, t: number): Lane | undefined {
    if (p.sandbox === null && p.role === 'host' && !this.hostLanes) return undefined
    const sb = this.sandbox(sandboxIdOf(p), t)
    let lane = sb.lanes.get(p.pid)
    if (!lane) lane = this.addLane(sb, p, t, true)
    this.touch(lane, p, t)
    return lane
  }

  touch(lane: Lane, p: ProcRef, t: number): void {
    // A later reference knows at least as much: keep its comm and inner PID.
    if (p.comm) {
      const container = p.container ?? lane.proc.container
      lane.proc = {...p, innerPid: p.innerPid ?? lane.proc.innerPid, role: lane.role === 'pause' ? 'pause' : p.role}
      // named by the runtime once (a look since), it stays named when a reference lacks it
      if (container !== undefined) lane.proc.container = container
    }
    if (p.role === 'pause') lane.role = 'pause'
    if (p.comm) lane.named = true
    lane.lastT = Math.max(lane.lastT, t)
  }

  private touchSandbox(p: ProcRef, t: number): SandboxState | undefined {
    if (p.sandbox === null && !this.hostLanes) return undefined
    const sb = this.sandbox(sandboxIdOf(p), t)
    sb.lastT = Math.max(sb.lastT, t)
    return sb
  }

  /** An event naming `a` (and `b`): each sandbox among them counts it once and is touched. */
  countEvent(t: number, a: ProcRef, b?: ProcRef): void {
    this.hostLanes = a.sandbox === null && (b === undefined || b.sandbox === null)
    const first = this.touchSandbox(a, t)
    if (first) first.counts.events++
    const second = b ? this.touchSandbox(b, t) : undefined
    if (second && second !== first) second.counts.events++
  }

  /** An item the detail pane can show, in its lane's sandbox. */
  entry(lane: Lane, item: Entry): void {
    const sb = this.sandboxOf(lane.proc)
    if (sb) push(sb.entries, item, this.limits.entriesPerSandbox)
  }

  laneItem(lane: Lane, item: LaneItem): void {
    push(lane.items, item, this.limits.laneItems)
  }
}
