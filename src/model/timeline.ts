// The timeline store behind `watch` and `replay --tui`: fed trace records in file order, it follows
// each signal to its fate and each exit to its reap (or a zombie), with lanes per sandbox, floods,
// lost-event gaps and exact counters. Pure (no I/O, `now` is an argument) and bounded in memory;
// what a view does with it (selection, filter, pause) lives with the view, in src/ui/view-state.ts.
import type {DeliverEvent, ExitEvent, FloodEvent, ForkEvent, ReapEvent, SignalEvent, SignalResult, TraceEvent, TraceRecord, HeaderRecord, FooterRecord} from '../events/types.js'
import {SandboxLanes, push, sandboxIdOf} from './lanes.js'
import {zeroSignals, type Counters, type ExitItem, type FloodItem, type GapItem, type ReapItem, type Release, type SandboxState, type SignalItem, type SignalState, type TimelineOptions} from './types.js'

export type {Counters, DeliverItem, Entry, ExitItem, FloodItem, ForkItem, GapItem, Lane, LaneItem, ReapItem, Release, SandboxState, SignalCounts, SignalItem, SignalState, TimelineOptions} from './types.js'
export {HOST_SANDBOX} from './types.js'

function isExitSigchld(e: SignalEvent): boolean {
  return e.via === 'kernel' && e.sig === 17 && (e.code === 'CLD_EXITED' || e.code === 'CLD_KILLED' || e.code === 'CLD_DUMPED')
}

export class Timeline {
  readonly opts: Required<TimelineOptions>
  header?: HeaderRecord
  footer?: FooterRecord
  /** the largest t seen */
  lastT = 0
  readonly counters: Counters = {events: 0, lost: 0, kinds: {}, signals: zeroSignals(), exitSigchld: 0, flooded: 0, floodedDeliveries: 0, exits: 0, reaps: 0, zombies: 0, sandboxesDropped: 0}
  readonly sandboxes: Map<string, SandboxState>
  readonly gaps: GapItem[] = []
  /** A sandbox never dropped when there are too many: a reader holds on to it (the view's selection). */
  keep: (id: string) => boolean = () => false

  private readonly lanes: SandboxLanes
  private openGap?: GapItem
  private readonly awaiting = new Map<string, SignalItem>()
  /** how many keys of `awaiting` each PID has: an exit looks through its 64 signals only when it has one */
  private readonly awaitingPids = new Map<number, number>()
  private readonly zombies = new Map<number, ExitItem>()
  private readonly groupKills = new Map<number, DeliverEvent>()
  private readonly floods = new Map<string, FloodItem>()

  constructor(opts: TimelineOptions = {}) {
    this.opts = {laneItems: 64, lanesPerSandbox: 32, sandboxes: 100, entriesPerSandbox: 100, gaps: 100, ...opts}
    this.lanes = new SandboxLanes(this.opts, (id) => this.keep(id), () => this.counters.sandboxesDropped++)
    this.sandboxes = this.lanes.sandboxes
  }

  /** Feeds one record (header, sandbox, event, lost, footer), in trace-file order. */
  feed(rec: TraceRecord): void {
    switch (rec.type) {
      case 'header':
        this.header = rec
        return
      case 'footer':
        this.footer = rec
        return
      case 'sandbox': {
        const sb = this.lanes.sandbox(rec.id, this.lastT)
        sb.record = rec
        this.lanes.pauseLane(sb)
        return
      }
      case 'lost':
        this.counters.lost += rec.count
        this.lastT = Math.max(this.lastT, rec.t)
        if (this.openGap) {
          this.openGap.count += rec.count
          if (rec.source && !this.openGap.sources.includes(rec.source)) this.openGap.sources.push(rec.source)
        } else {
          this.openGap = {kind: 'gap', t: rec.t, count: rec.count, sources: rec.source ? [rec.source] : []}
          push(this.gaps, this.openGap, this.opts.gaps)
        }
        return
      case 'event':
        this.counters.events++
        this.event(rec)
    }
  }

  feedAll(recs: Iterable<TraceRecord>): this {
    for (const r of recs) this.feed(r)
    return this
  }

  private event(e: TraceEvent): void {
    this.counters.kinds[e.kind] = (this.counters.kinds[e.kind] ?? 0) + 1
    this.lastT = Math.max(this.lastT, e.t)
    if (this.openGap) {
      this.openGap.endT = e.t
      this.openGap = undefined
    }
    switch (e.kind) {
      case 'signal':
        return this.onSignal(e)
      case 'deliver':
        return this.onDeliver(e)
      case 'exit':
        return this.onExit(e)
      case 'reap':
        return this.onReap(e)
      case 'fork':
        return this.onFork(e)
      case 'exec': {
        this.lanes.countEvent(e.t, e.proc)
        const lane = this.lanes.findLane(e.proc)
        if (lane) this.lanes.touch(lane, e.proc, e.t)
        return
      }
      case 'flood':
        return this.onFlood(e)
    }
  }

  // --- events ----------------------------------------------------------------------------------

  private onSignal(e: SignalEvent): void {
    this.lanes.countEvent(e.t, e.from, e.to)
    if (isExitSigchld(e)) this.counters.exitSigchld++
    else if (e.result) {
      const key = this.toDead(e) ? 'targetDead' : e.result
      this.counters.signals[key]++
      const sb = e.to ? this.lanes.sandboxOf(e.to) : undefined
      if (sb) sb.counts.signals[key]++
    }
    if (!e.to || e.sig === 0 || !e.result) return
    if (isExitSigchld(e)) {
      // The exit notification: it names who must reap the child (after any re-parenting).
      const exit = this.zombies.get(e.from.pid)
      if (exit) {
        exit.sigchld = e
        exit.parent = e.to
        const parentLane = this.lanes.findLane(e.to)
        // A PID namespace's init that already exited reaps nothing by syscall: the kernel
        // releases what is left of its namespace.
        if (parentLane?.exit && e.to.innerPid === 1) this.release(exit, {how: 'namespace-ended', t: e.t, by: e.to})
      }
      return
    }
    const lane = this.lanes.lane(e.to, e.t)
    if (!lane) return
    const dead = this.toDead(e)
    const item: SignalItem = {kind: 'signal', t: e.t, ev: e, state: dead ? 'dead' : stateOf(e.result)}
    const key = `${e.to.pid}:${e.sig}`
    const before = this.awaiting.get(key)
    if (e.result === 'delivered' && !dead) {
      // A standard signal is queued once: this one being new means the earlier one left the
      // queue without signal_deliver (read from a signalfd or by sigwaitinfo).
      if (before && before.state === 'awaiting' && e.sig < 32) {
        before.state = 'consumed'
        before.consumedT = e.t
      }
      this.setAwaiting(key, e.to.pid, item)
    } else if (e.result === 'pending' && before) item.into = before
    const label = `${e.signame} ${item.state === 'awaiting' ? 'queued' : item.state}`
    lane.received.set(label, (lane.received.get(label) ?? 0) + 1)
    this.lanes.laneItem(lane, item)
    this.lanes.entry(lane, item)
  }

  /**
   * Whether a signal reached a process that had already exited: said by the trace
   * (`targetDead`), or, in files written before it did, an "ignored" signal to a process whose
   * exit is in the model and whose PID was not reused since.
   */
  private toDead(e: SignalEvent): boolean {
    if (e.targetDead) return true
    if (e.result !== 'ignored' || !e.to || isExitSigchld(e)) return false
    return this.zombies.has(e.to.pid) || this.lanes.findLane(e.to)?.exit !== undefined
  }

  private onDeliver(e: DeliverEvent): void {
    this.lanes.countEvent(e.t, e.proc)
    const key = `${e.proc.pid}:${e.sig}`
    const item = this.awaiting.get(key)
    if (item && item.state === 'awaiting') {
      item.state = deliveredState(e.handler)
      item.deliver = e
      this.deleteAwaiting(key, e.proc.pid)
      const lane = this.lanes.findLane(e.proc)
      if (lane) this.lanes.touch(lane, e.proc, e.t)
      return
    }
    if (e.sig === 9 && e.handler === 'default') {
      // A fatal signal's default action: the kernel kills the group with SIGKILL.
      this.groupKills.set(e.proc.pid, e)
      if (this.groupKills.size > 65_536) this.groupKills.delete(this.groupKills.keys().next().value as number)
      return
    }
    if (e.sig === 17) return // SIGCHLD handlers: part of the exit/reap chains
    const lane = this.lanes.lane(e.proc, e.t)
    if (lane) this.lanes.laneItem(lane, {kind: 'deliver', t: e.t, ev: e})
  }

  private onExit(e: ExitEvent): void {
    this.lanes.countEvent(e.t, e.proc)
    if (!e.groupDead) return
    this.counters.exits++
    const lane = this.lanes.lane(e.proc, e.t)
    const item: ExitItem = {kind: 'exit', t: e.t, ev: e, parent: lane?.parent}
    const kill = this.groupKills.get(e.proc.pid)
    if (kill) {
      item.groupKill = kill
      this.groupKills.delete(e.proc.pid)
    }
    // Signals still queued for it: the fatal one took the default action, the rest never arrived.
    for (let sig = 1; sig <= 64 && this.awaitingPids.has(e.proc.pid); sig++) {
      const key = `${e.proc.pid}:${sig}`
      const s = this.awaiting.get(key)
      if (!s) continue
      this.deleteAwaiting(key, e.proc.pid)
      if (s.state !== 'awaiting') continue
      if (sig === e.signal) {
        s.state = 'default'
        s.fatal = item
        item.cause = s
      } else s.state = 'undelivered'
    }
    const sb = this.lanes.sandboxOf(e.proc)
    if (sb) {
      sb.counts.exits++
      sb.counts.zombies++
    }
    this.counters.zombies++
    const old = this.zombies.get(e.proc.pid)
    if (old) this.release(old, {how: 'pid-reused', t: e.t})
    this.zombies.set(e.proc.pid, item)
    if (lane) {
      lane.exit = item
      this.lanes.laneItem(lane, item)
      this.lanes.entry(lane, item)
    }
    // An init's death ends its PID namespace: the kernel kills every member and the dying init
    // reaps its own children, among them the orphans of members that die (no wait syscall). A
    // member whose parent is outside the namespace (an `nsenter`) is reaped by that parent with a
    // real wait4: its zombie stays until then.
    if (e.proc.innerPid === 1) {
      const shared = sb?.record?.sharedPidNamespace && sb.record.pausePid === e.proc.pid
      for (const z of [...this.zombies.values()]) {
        if (z === item) continue
        const parent = z.parent
        const parentInside = parent !== undefined && parent.sandbox === e.proc.sandbox && parent.innerPid !== null && parent.innerPid !== parent.pid
        if (parent?.pid === e.proc.pid || (shared && z.ev.proc.sandbox === e.proc.sandbox && parentInside)) this.release(z, {how: 'namespace-ended', t: e.t, by: e.proc})
      }
    }
  }

  private setAwaiting(key: string, pid: number, item: SignalItem): void {
    if (!this.awaiting.has(key)) this.awaitingPids.set(pid, (this.awaitingPids.get(pid) ?? 0) + 1)
    this.awaiting.set(key, item)
    if (this.awaiting.size > 65_536) {
      const oldest = this.awaiting.keys().next().value as string
      this.deleteAwaiting(oldest, Number(oldest.slice(0, oldest.indexOf(':'))))
    }
  }

  private deleteAwaiting(key: string, pid: number): void {
    if (!this.awaiting.delete(key)) return
    const n = (this.awaitingPids.get(pid) ?? 1) - 1
    if (n > 0) this.awaitingPids.set(pid, n)
    else this.awaitingPids.delete(pid)
  }

  private release(z: ExitItem, how: Release): void {
    if (z.released) return
    z.released = how
    if (this.zombies.get(z.ev.proc.pid) === z) this.zombies.delete(z.ev.proc.pid)
    this.counters.zombies--
    const sb = this.lanes.sandboxOf(z.ev.proc)
    if (sb) sb.counts.zombies = Math.max(0, sb.counts.zombies - 1)
  }

  private onReap(e: ReapEvent): void {
    this.lanes.countEvent(e.t, e.reaper, e.child)
    const gone = 'exited' in e.status || 'signaled' in e.status
    const item: ReapItem = {kind: 'reap', t: e.t, ev: e}
    if (gone) {
      this.counters.reaps++
      const exit = this.zombies.get(e.child.pid)
      if (exit) {
        item.exit = exit
        item.latency = e.t - exit.t
        this.release(exit, {how: 'reaped', reap: item})
      }
      const csb = this.lanes.sandboxOf(e.child)
      if (csb) csb.counts.reaps++
    }
    const childLane = this.lanes.findLane(e.child)
    if (childLane) this.lanes.touch(childLane, e.child, e.t)
    // The mark goes on the reaper's lane; a host reaper of a sandbox process has no lane there,
    // then the child's lane carries it.
    const lane = e.reaper.sandbox === null && e.child.sandbox !== null ? childLane ?? this.lanes.lane(e.child, e.t) : this.lanes.lane(e.reaper, e.t)
    if (!lane) return
    if (lane.pid === e.reaper.pid && gone) {
      lane.reaped++
      lane.lastReap = item
    }
    this.lanes.laneItem(lane, item)
    this.lanes.entry(lane, item)
  }

  private onFork(e: ForkEvent): void {
    this.lanes.countEvent(e.t, e.parent, e.child)
    if (e.thread) return
    const old = this.zombies.get(e.child.pid)
    if (old) this.release(old, {how: 'pid-reused', t: e.t})
    const sb = e.child.sandbox === null && !this.lanes.hostLanes ? undefined : this.lanes.sandbox(sandboxIdOf(e.child), e.t)
    // A PID seen before belonged to a process that is gone: its lane makes way for the new one.
    const prev = sb?.lanes.get(e.child.pid)
    if (sb && prev && prev.exit) sb.lanes.delete(e.child.pid)
    const lane = this.lanes.lane(e.child, e.t)
    if (!lane) return
    lane.parent = e.parent
    this.lanes.laneItem(lane, {kind: 'fork', t: e.t, ev: e})
  }

  private onFlood(e: FloodEvent): void {
    this.lanes.countEvent(e.t, e.from, e.to)
    if (e.of === 'deliver') this.counters.floodedDeliveries += e.count
    else this.counters.flooded += e.count
    const sb = this.lanes.sandboxOf(e.to)
    if (sb && e.of === 'signal') sb.counts.flooded += e.count
    const lane = this.lanes.lane(e.to, e.t)
    if (!lane) return
    lane.flooded.set(e.signame, (lane.flooded.get(e.signame) ?? 0) + e.count)
    const key = `${e.of}:${e.from.pid}:${e.to.pid}:${e.sig}`
    const prev = this.floods.get(key)
    // Flood events of one key every 250 ms: one that continues the last one extends its mark.
    if (prev && prev.lastT === e.sinceT && lane.items.includes(prev)) {
      prev.lastT = e.t
      prev.count += e.count
      prev.events++
      this.floods.delete(key)
      this.floods.set(key, prev)
      return
    }
    const item: FloodItem = {kind: 'flood', t: e.t, lastT: e.t, fromT: e.sinceT > 0 ? e.sinceT : e.t, first: e, count: e.count, events: 1}
    this.floods.set(key, item)
    if (this.floods.size > 4096) this.floods.delete(this.floods.keys().next().value as string)
    this.lanes.laneItem(lane, item)
    this.lanes.entry(lane, item)
  }

  // --- queries ---------------------------------------------------------------------------------

  /** Zombies now (exited, not reaped), oldest first. */
  zombieList(): ExitItem[] {
    return [...this.zombies.values()].sort((a, b) => a.t - b.t)
  }

  /** The end of a finished trace in t (from the footer's wall time), else the last t seen. */
  endT(): number {
    if (this.header && this.footer) {
      const ms = Date.parse(this.footer.endedAt) - Date.parse(this.header.startedAt)
      if (Number.isFinite(ms)) return Math.max(this.lastT, Math.round(ms * 1e6))
    }
    return this.lastT
  }
}

function stateOf(result: SignalResult): SignalState {
  switch (result) {
    case 'delivered':
      return 'awaiting'
    case 'ignored':
      return 'ignored'
    case 'pending':
      return 'coalesced'
    default:
      return 'overflow'
  }
}

/** The state a signal_deliver ends a signal in: its handler ran, SIG_IGN, or its default action. */
export function deliveredState(handler: DeliverEvent['handler']): SignalState {
  return handler === 'handler' ? 'handler' : handler === 'ignore' ? 'sig_ign' : 'default'
}
