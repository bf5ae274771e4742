// What the timeline store holds: the items on a lane (signals with their fate, deliveries, exits,
// reaps, floods, forks), lanes, sandboxes, lost-event gaps and the trace-wide counters.
import type {DeliverEvent, ExitEvent, FloodEvent, ForkEvent, ProcRef, ReapEvent, SandboxRecord, SignalEvent} from '../events/types.js'

/** The group of the processes outside any sandbox (they get lanes only in events between host processes). */
export const HOST_SANDBOX = 'host'

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

export const zeroSignals = (): SignalCounts => ({delivered: 0, ignored: 0, pending: 0, overflow: 0, lose_info: 0, targetDead: 0})
