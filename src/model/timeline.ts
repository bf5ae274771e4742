// The timeline state behind `watch` (and any view of a trace): fed trace records in file order,
// it keeps per-sandbox lanes (the pause first, then the other processes), follows each signal
// from its syscall to its fate, each exit to its reap (or to a zombie), merges floods into one
// mark, and remembers where events were lost. Pure: no I/O, no clock (`now` is an argument),
// memory bounded by the options while every counter stays exact.
import type {DeliverEvent, ExitEvent, FloodEvent, ForkEvent, ProcRef, ReapEvent, SandboxRecord, SignalEvent, SignalResult, TraceEvent, TraceRecord, HeaderRecord, FooterRecord} from '../events/types.js'

export interface TimelineOptions {
  /** items kept per lane (a ring: older ones scroll out); default 64 */
  laneItems?: number
  /** lanes kept per sandbox besides its pause; default 32 */
  lanesPerSandbox?: number
  /** sandboxes kept (the least recently active is dropped first); default 100 */
  sandboxes?: number
  /** detail entries kept per sandbox; default 100 */
  entriesPerSandbox?: number
  /** lost-event gaps kept; default 100 */
  gaps?: number
  /** records queued while paused before the oldest are applied anyway; default 50,000 */
  pausedQueue?: number
}

/**
 * A signal's fate. `awaiting`: generated and queued, no signal_deliver yet. `consumed`: dequeued
 * without signal_deliver (a signalfd or sigwaitinfo reader: a later one of the same standard
 * signal was queued as new). `undelivered`: still not delivered when its target exited.
 * `coalesced`: generated while one was already pending (result "pending"): merged into it.
 * `dead`: its target had already exited (a zombie): no effect (never counted as ignored).
 */
export type SignalState = 'dead' | 'ignored' | 'coalesced' | 'overflow' | 'awaiting' | 'handler' | 'default' | 'sig_ign' | 'consumed' | 'undelivered'

export interface SignalItem {
  kind: 'signal'
  t: number
  ev: SignalEvent
  state: SignalState
  /** the signal_deliver that ended it (handler, default action, SIG_IGN) */
  deliver?: DeliverEvent
  /** when it is known to have been consumed (the later signal that showed it) */
  consumedT?: number
  /** killed its target (default action of a fatal signal): the exit */
  fatal?: ExitItem
  /** for `coalesced`: the pending one it merged into */
  into?: SignalItem
}

/** A signal_deliver with no generation seen (sent before the trace, or counted in a flood). */
export interface DeliverItem {
  kind: 'deliver'
  t: number
  ev: DeliverEvent
}

export type Release = {how: 'reaped'; reap: ReapItem} | {how: 'namespace-ended'; t: number; by: ProcRef} | {how: 'pid-reused'; t: number}

export interface ExitItem {
  kind: 'exit'
  t: number
  ev: ExitEvent
  /** the signal whose default action killed it */
  cause?: SignalItem
  /** the kernel's group kill (signal_deliver of SIGKILL) on the way out */
  groupKill?: DeliverEvent
  /** the SIGCHLD the kernel sent to its parent (the latest one: again when it is re-parented) */
  sigchld?: SignalEvent
  /** who should reap it: the SIGCHLD's receiver, else the parent seen at fork */
  parent?: ProcRef
  /** how it stopped being a zombie; absent while it is one */
  released?: Release
}

export interface ReapItem {
  kind: 'reap'
  t: number
  ev: ReapEvent
  /** the child's exit, when it was seen */
  exit?: ExitItem
  /** exit → reap, ns */
  latency?: number
}

export interface FloodItem {
  kind: 'flood'
  t: number
  /** t of the last flood event merged in */
  lastT: number
  /** start of the counted interval: the first event's sinceT when it continues one before, else its t */
  fromT: number
  first: FloodEvent
  count: number
  events: number
}

export interface ForkItem {
  kind: 'fork'
  t: number
  ev: ForkEvent
}

export interface GapItem {
  kind: 'gap'
  t: number
  /** t of the first event after the loss; absent while nothing came after it */
  endT?: number
  count: number
  sources: string[]
}

export type LaneItem = SignalItem | DeliverItem | ExitItem | ReapItem | FloodItem | ForkItem
export type Entry = SignalItem | ExitItem | ReapItem | FloodItem

export interface SignalCounts {
  delivered: number
  ignored: number
  pending: number
  overflow: number
  lose_info: number
  /** to a process that had already exited (the kernel says "ignored"; counted here instead) */
  targetDead: number
}

export interface Lane {
  pid: number
  proc: ProcRef
  /** false until an event names it (a pause known only from its sandbox record) */
  named: boolean
  role: ProcRef['role']
  items: LaneItem[]
  firstT: number
  lastT: number
  exit?: ExitItem
  /** the parent seen at fork */
  parent?: ProcRef
  /** exact, whatever scrolled out: signals received by `${signame} ${state}` at generation (ignored, coalesced, overflow, queued) */
  received: Map<string, number>
  /** exact: floods into this process, by signame */
  flooded: Map<string, number>
  reaped: number
  lastReap?: ReapItem
}

export interface SandboxState {
  id: string
  record?: SandboxRecord
  lanes: Map<number, Lane>
  entries: Entry[]
  firstT: number
  lastT: number
  /** order of first appearance, for a stable list */
  seq: number
  counts: {events: number; signals: SignalCounts; exits: number; reaps: number; zombies: number; flooded: number; lanesDropped: number}
}

export interface Counters {
  events: number
  lost: number
  kinds: Record<string, number>
  /** signal events by result, not counting the kernel's SIGCHLD to the parent of an exiting child */
  signals: SignalCounts
  /** the kernel's SIGCHLDs telling a parent that its child exited (part of each exit's chain) */
  exitSigchld: number
  /** signals counted in flood summaries (of: signal) */
  flooded: number
  /** deliveries counted in flood summaries (of: deliver) */
  floodedDeliveries: number
  exits: number
  reaps: number
  /** exited, not reaped, now */
  zombies: number
  sandboxesDropped: number
}

export interface UiState {
  selected?: string
  details: boolean
  help: boolean
  paused: boolean
  /** the text filter in effect */
  filter: string
  /** the filter being typed after `/` (applied as typed) */
  editing: boolean
  /** the detail entry shown: 0 = the newest */
  entry: number
}

export interface TimelineSnapshot {
  header?: HeaderRecord
  footer?: FooterRecord
  now: number
  /** the time window shown, ns since the trace started */
  window: {from: number; to: number}
  counters: Readonly<Counters>
  /** records waiting while paused */
  queued: number
  sandboxes: SandboxState[]
  totalSandboxes: number
  selected?: SandboxState
  gaps: GapItem[]
  ui: Readonly<UiState>
  notice?: string
}

const HOST = 'host'
const SPANS_S = [1, 2, 5, 10, 20, 30, 60, 120, 300]
/** a queued signal with no delivery after this long is shown as not delivered (consumed or blocked) */
export const UNDELIVERED_AFTER_NS = 250_000_000

function push<T>(ring: T[], item: T, cap: number): void {
  ring.push(item)
  if (ring.length > cap) ring.splice(0, ring.length - cap)
}

const zeroSignals = (): SignalCounts => ({delivered: 0, ignored: 0, pending: 0, overflow: 0, lose_info: 0, targetDead: 0})

/** The nice span (1 s … 5 min) that holds [0, now]; past 5 minutes the window slides. */
export function windowFor(now: number): {from: number; to: number} {
  const span = (SPANS_S.find((s) => s * 1e9 >= now) ?? SPANS_S[SPANS_S.length - 1]) * 1e9
  return {from: Math.max(0, now - span), to: Math.max(now, span)}
}

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
  readonly sandboxes = new Map<string, SandboxState>()
  readonly gaps: GapItem[] = []
  readonly ui: UiState = {details: false, help: false, paused: false, filter: '', editing: false, entry: 0}
  /** a one-line message for the user (from the pipeline) */
  notice?: string
  /** bumps on every change of what a view shows */
  version = 0

  private seq = 0
  /** set while feeding an event that names no sandbox process at all: only then do host processes get lanes */
  private hostLanes = false
  private openGap?: GapItem
  private readonly awaiting = new Map<string, SignalItem>()
  private readonly zombies = new Map<number, ExitItem>()
  private readonly groupKills = new Map<number, DeliverEvent>()
  private readonly floods = new Map<string, FloodItem>()
  private readonly queue: TraceRecord[] = []

  constructor(opts: TimelineOptions = {}) {
    this.opts = {laneItems: 64, lanesPerSandbox: 32, sandboxes: 100, entriesPerSandbox: 100, gaps: 100, pausedQueue: 50_000, ...opts}
  }

  /** Feeds one record (header, sandbox, event, lost, footer), in trace-file order. */
  feed(rec: TraceRecord): void {
    if (this.ui.paused && rec.type !== 'header' && rec.type !== 'footer') {
      this.queue.push(rec)
      if (rec.type === 'event') this.counters.events++
      else if (rec.type === 'lost') this.counters.lost += rec.count
      if (this.queue.length > this.opts.pausedQueue) this.apply(this.queue.shift() as TraceRecord, true)
      this.version++
      return
    }
    this.apply(rec, false)
  }

  feedAll(recs: Iterable<TraceRecord>): this {
    for (const r of recs) this.feed(r)
    return this
  }

  /** Records applied while paused are counted already. */
  private apply(rec: TraceRecord, counted: boolean): void {
    this.version++
    switch (rec.type) {
      case 'header':
        this.header = rec
        return
      case 'footer':
        this.footer = rec
        return
      case 'sandbox': {
        const sb = this.sandbox(rec.id, this.lastT)
        sb.record = rec
        this.pauseLane(sb)
        return
      }
      case 'lost':
        if (!counted) this.counters.lost += rec.count
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
        if (!counted) this.counters.events++
        this.event(rec)
    }
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
        this.countEvent([e.proc], e.t)
        const lane = this.findLane(e.proc)
        if (lane) this.touch(lane, e.proc, e.t)
        return
      }
      case 'flood':
        return this.onFlood(e)
    }
  }

  // --- sandboxes and lanes -------------------------------------------------------------------

  private sandboxIdOf(p: ProcRef): string {
    return p.sandbox ?? HOST
  }

  private sandbox(id: string, t: number): SandboxState {
    let sb = this.sandboxes.get(id)
    if (!sb) {
      sb = {id, lanes: new Map(), entries: [], firstT: t, lastT: t, seq: this.seq++, counts: {events: 0, signals: zeroSignals(), exits: 0, reaps: 0, zombies: 0, flooded: 0, lanesDropped: 0}}
      this.sandboxes.set(id, sb)
      if (this.sandboxes.size > this.opts.sandboxes) this.dropSandbox(id)
    }
    return sb
  }

  private dropSandbox(keep: string): void {
    let victim: SandboxState | undefined
    for (const sb of this.sandboxes.values()) if (sb.id !== keep && sb.id !== this.ui.selected && (!victim || sb.lastT < victim.lastT)) victim = sb
    if (!victim) return
    this.sandboxes.delete(victim.id)
    this.counters.sandboxesDropped++
  }

  private pauseLane(sb: SandboxState): void {
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
    if (sb.lanes.size - (pause && sb.lanes.has(pause) ? 1 : 0) > this.opts.lanesPerSandbox) {
      // Drop the least recently active lane that is neither the pause nor a zombie (then any).
      let victim: Lane | undefined
      for (const l of sb.lanes.values()) {
        if (l === lane || l.pid === pause) continue
        const zombie = l.exit && !l.exit.released
        const vZombie = victim?.exit && !victim.exit.released
        if (!victim || (vZombie && !zombie) || (Boolean(vZombie) === Boolean(zombie) && l.lastT < victim.lastT)) victim = l
      }
      if (victim) {
        sb.lanes.delete(victim.pid)
        sb.counts.lanesDropped++
      }
    }
    return lane
  }

  private findLane(p: ProcRef): Lane | undefined {
    return this.sandboxes.get(this.sandboxIdOf(p))?.lanes.get(p.pid)
  }

  /** The lane of a process (made on first sight). Host processes get lanes only when `host` is set. */
  private lane(p: ProcRef, t: number): Lane | undefined {
    if (p.sandbox === null && p.role === 'host' && !this.hostLanes) return undefined
    const sb = this.sandbox(this.sandboxIdOf(p), t)
    let lane = sb.lanes.get(p.pid)
    if (!lane) lane = this.addLane(sb, p, t, true)
    this.touch(lane, p, t)
    return lane
  }

  private touch(lane: Lane, p: ProcRef, t: number): void {
    // A later reference knows at least as much: keep its comm and inner PID.
    if (p.comm) lane.proc = {...p, innerPid: p.innerPid ?? lane.proc.innerPid, role: lane.role === 'pause' ? 'pause' : p.role}
    if (p.role === 'pause') lane.role = 'pause'
    if (p.comm) lane.named = true
    lane.lastT = Math.max(lane.lastT, t)
  }

  private touchSandbox(p: ProcRef, t: number): SandboxState | undefined {
    if (p.sandbox === null && !this.hostLanes) return undefined
    const sb = this.sandbox(this.sandboxIdOf(p), t)
    sb.lastT = Math.max(sb.lastT, t)
    return sb
  }

  private countEvent(procs: ProcRef[], t: number): void {
    this.hostLanes = procs.every((p) => p.sandbox === null)
    const seen = new Set<string>()
    for (const p of procs) {
      const sb = this.touchSandbox(p, t)
      if (sb && !seen.has(sb.id)) {
        seen.add(sb.id)
        sb.counts.events++
      }
    }
  }

  private entry(lane: Lane, item: Entry): void {
    const sb = this.sandboxes.get(this.sandboxIdOf(lane.proc))
    if (sb) push(sb.entries, item, this.opts.entriesPerSandbox)
  }

  private laneItem(lane: Lane, item: LaneItem): void {
    push(lane.items, item, this.opts.laneItems)
  }

  // --- events ----------------------------------------------------------------------------------

  private onSignal(e: SignalEvent): void {
    this.countEvent(e.to ? [e.from, e.to] : [e.from], e.t)
    if (isExitSigchld(e)) this.counters.exitSigchld++
    else if (e.result) {
      const key = this.toDead(e) ? 'targetDead' : e.result
      this.counters.signals[key]++
      const sb = e.to ? this.sandboxes.get(this.sandboxIdOf(e.to)) : undefined
      if (sb) sb.counts.signals[key]++
    }
    if (!e.to || e.sig === 0 || !e.result) return
    if (isExitSigchld(e)) {
      // The exit notification: it names who must reap the child (after any re-parenting).
      const exit = this.zombies.get(e.from.pid)
      if (exit) {
        exit.sigchld = e
        exit.parent = e.to
        const parentLane = this.findLane(e.to)
        // A PID namespace's init that already exited reaps nothing by syscall: the kernel
        // releases what is left of its namespace.
        if (parentLane?.exit && e.to.innerPid === 1) this.release(exit, {how: 'namespace-ended', t: e.t, by: e.to})
      }
      return
    }
    const lane = this.lane(e.to, e.t)
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
      this.awaiting.set(key, item)
      if (this.awaiting.size > 65_536) this.awaiting.delete(this.awaiting.keys().next().value as string)
    } else if (e.result === 'pending' && before) item.into = before
    const label = `${e.signame} ${item.state === 'awaiting' ? 'queued' : item.state}`
    lane.received.set(label, (lane.received.get(label) ?? 0) + 1)
    this.laneItem(lane, item)
    this.entry(lane, item)
  }

  /**
   * Whether a signal reached a process that had already exited: said by the trace
   * (`targetDead`), or, in files written before it did, an "ignored" signal to a process whose
   * exit is in the model and whose PID was not reused since.
   */
  private toDead(e: SignalEvent): boolean {
    if (e.targetDead) return true
    if (e.result !== 'ignored' || !e.to || isExitSigchld(e)) return false
    return this.zombies.has(e.to.pid) || this.findLane(e.to)?.exit !== undefined
  }

  private onDeliver(e: DeliverEvent): void {
    this.countEvent([e.proc], e.t)
    const key = `${e.proc.pid}:${e.sig}`
    const item = this.awaiting.get(key)
    if (item && item.state === 'awaiting') {
      item.state = e.handler === 'handler' ? 'handler' : e.handler === 'ignore' ? 'sig_ign' : 'default'
      item.deliver = e
      this.awaiting.delete(key)
      const lane = this.findLane(e.proc)
      if (lane) this.touch(lane, e.proc, e.t)
      return
    }
    if (e.sig === 9 && e.handler === 'default') {
      // A fatal signal's default action: the kernel kills the group with SIGKILL.
      this.groupKills.set(e.proc.pid, e)
      if (this.groupKills.size > 65_536) this.groupKills.delete(this.groupKills.keys().next().value as number)
      return
    }
    if (e.sig === 17) return // SIGCHLD handlers: part of the exit/reap chains
    const lane = this.lane(e.proc, e.t)
    if (lane) this.laneItem(lane, {kind: 'deliver', t: e.t, ev: e})
  }

  private onExit(e: ExitEvent): void {
    this.countEvent([e.proc], e.t)
    if (!e.groupDead) return
    this.counters.exits++
    const lane = this.lane(e.proc, e.t)
    const item: ExitItem = {kind: 'exit', t: e.t, ev: e, parent: lane?.parent}
    const kill = this.groupKills.get(e.proc.pid)
    if (kill) {
      item.groupKill = kill
      this.groupKills.delete(e.proc.pid)
    }
    // Signals still queued for it: the fatal one took the default action, the rest never arrived.
    for (let sig = 1; sig <= 64; sig++) {
      const key = `${e.proc.pid}:${sig}`
      const s = this.awaiting.get(key)
      if (!s) continue
      this.awaiting.delete(key)
      if (s.state !== 'awaiting') continue
      if (sig === e.signal) {
        s.state = 'default'
        s.fatal = item
        item.cause = s
      } else s.state = 'undelivered'
    }
    const sb = this.sandboxes.get(this.sandboxIdOf(e.proc))
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
      this.laneItem(lane, item)
      this.entry(lane, item)
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

  private release(z: ExitItem, how: Release): void {
    if (z.released) return
    z.released = how
    if (this.zombies.get(z.ev.proc.pid) === z) this.zombies.delete(z.ev.proc.pid)
    this.counters.zombies--
    const sb = this.sandboxes.get(this.sandboxIdOf(z.ev.proc))
    if (sb) sb.counts.zombies = Math.max(0, sb.counts.zombies - 1)
  }

  private onReap(e: ReapEvent): void {
    this.countEvent([e.reaper, e.child], e.t)
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
      const csb = this.sandboxes.get(this.sandboxIdOf(e.child))
      if (csb) csb.counts.reaps++
    }
    const childLane = this.findLane(e.child)
    if (childLane) this.touch(childLane, e.child, e.t)
    // The mark goes on the reaper's lane; a host reaper of a sandbox process has no lane there,
    // then the child's lane carries it.
    const lane = e.reaper.sandbox === null && e.child.sandbox !== null ? childLane ?? this.lane(e.child, e.t) : this.lane(e.reaper, e.t)
    if (!lane) return
    if (lane.pid === e.reaper.pid && gone) {
      lane.reaped++
      lane.lastReap = item
    }
    this.laneItem(lane, item)
    this.entry(lane, item)
  }

  private onFork(e: ForkEvent): void {
    this.countEvent([e.parent, e.child], e.t)
    if (e.thread) return
    const old = this.zombies.get(e.child.pid)
    if (old) this.release(old, {how: 'pid-reused', t: e.t})
    const sb = e.child.sandbox === null && !this.hostLanes ? undefined : this.sandbox(this.sandboxIdOf(e.child), e.t)
    // A PID seen before belonged to a process that is gone: its lane makes way for the new one.
    const prev = sb?.lanes.get(e.child.pid)
    if (sb && prev && prev.exit) sb.lanes.delete(e.child.pid)
    const lane = this.lane(e.child, e.t)
    if (!lane) return
    lane.parent = e.parent
    this.laneItem(lane, {kind: 'fork', t: e.t, ev: e})
  }

  private onFlood(e: FloodEvent): void {
    this.countEvent([e.from, e.to], e.t)
    if (e.of === 'deliver') this.counters.floodedDeliveries += e.count
    else this.counters.flooded += e.count
    const sb = this.sandboxes.get(this.sandboxIdOf(e.to))
    if (sb && e.of === 'signal') sb.counts.flooded += e.count
    const lane = this.lane(e.to, e.t)
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
    this.laneItem(lane, item)
    this.entry(lane, item)
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

  /** Whether a sandbox passes the text filter (pod, namespace, id, runtime, a process name or PID). */
  matches(sb: SandboxState, text = this.ui.filter): boolean {
    const q = text.trim().toLowerCase()
    if (!q) return true
    const r = sb.record
    const words = [sb.id, r?.runtime, r?.pod?.name, r?.pod?.namespace, ...[...sb.lanes.values()].flatMap((l) => [l.proc.comm, String(l.pid)])]
    return words.some((w) => w !== undefined && w !== null && w.toLowerCase().includes(q))
  }

  /** Sandboxes in display order (first seen first, the host group last) that pass the filter. */
  visible(): SandboxState[] {
    return [...this.sandboxes.values()].filter((sb) => this.matches(sb)).sort((a, b) => (a.id === HOST ? 1 : 0) - (b.id === HOST ? 1 : 0) || a.seq - b.seq)
  }

  snapshot(now: number): TimelineSnapshot {
    const list = this.visible()
    const selected = list.find((s) => s.id === this.ui.selected) ?? list[0]
    const window = windowFor(now)
    return {
      header: this.header,
      footer: this.footer,
      now,
      window,
      counters: this.counters,
      queued: this.queue.length,
      sandboxes: list,
      totalSandboxes: this.sandboxes.size,
      selected,
      gaps: this.gaps.filter((g) => (g.endT ?? now) >= window.from),
      ui: {...this.ui, selected: selected?.id},
      notice: this.notice,
    }
  }

  // --- selection, filter, pause (what the keys do) ---------------------------------------------

  /** Moves the selection by `delta` sandboxes in the visible list. */
  select(delta: number): void {
    const list = this.visible()
    if (list.length === 0) return
    // with no selection (or one filtered out) the view shows the first as selected
    const i = Math.max(0, list.findIndex((s) => s.id === this.ui.selected))
    const next = Math.min(list.length - 1, Math.max(0, i + delta))
    if (list[next].id !== this.ui.selected) this.ui.entry = 0
    this.ui.selected = list[next].id
    this.version++
  }

  /** Moves the detail entry: +1 = older, -1 = newer. */
  moveEntry(delta: number): void {
    const sb = this.visible().find((s) => s.id === this.ui.selected) ?? this.visible()[0]
    const n = sb?.entries.length ?? 0
    this.ui.entry = Math.min(Math.max(0, n - 1), Math.max(0, this.ui.entry + delta))
    this.version++
  }

  toggleDetails(): void {
    this.ui.details = !this.ui.details
    this.ui.entry = 0
    this.version++
  }

  toggleHelp(): void {
    this.ui.help = !this.ui.help
    this.version++
  }

  beginFilter(): void {
    this.ui.editing = true
    this.version++
  }

  /** The filter as typed so far (applied at once). */
  setFilter(text: string): void {
    this.ui.filter = text
    this.version++
  }

  endFilter(keep: boolean): void {
    this.ui.editing = false
    if (!keep) this.ui.filter = ''
    this.version++
  }

  /** Pause freezes what is shown: records wait in a queue (counted at once) until resume. */
  setPaused(paused: boolean): void {
    if (this.ui.paused === paused) return
    this.ui.paused = paused
    if (!paused) for (const r of this.queue.splice(0)) this.apply(r, r.type === 'event' || r.type === 'lost')
    this.version++
  }

  setNotice(text: string | undefined): void {
    this.notice = text
    this.version++
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
