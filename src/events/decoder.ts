// bpftrace records → CONTRACT events, in kernel time order. The coordinator: it parses each
// printf line, puts it through the reorder window (reorder-window.ts) and hands each line, in
// time order, to the part that decodes it: the signal join (signal-join.ts), reaps (reap-event.ts,
// held-reaps.ts), deliveries, exits, forks and execs (task-events.ts), all over one process table
// (process-table.ts); flood maps become flood events (flood-deltas.ts) and every lost line is
// accounted for (loss-accounting.ts). Pure: no I/O, no clock (time comes in as kernel nanoseconds).
import type {BtRecord, MapEntry} from '../stream/bpftrace-json.js'
import {CpuWatermark} from './cpu-watermark.js'
import {EventTime} from './event-time.js'
import {FloodDeltas, type FloodCounters} from './flood-deltas.js'
import {HeldReaps, type ReapCounters, type WaitKey, type WaitLine} from './held-reaps.js'
import {allProducedSeen, lostUnreported, producedPerTag, type LossCounters} from './loss-accounting.js'
import {OutputQueue, type DecodedRecord} from './output-queue.js'
import type {Classifier, ProcInfo, ProcResolver} from './process-info.js'
import {ProcessTable} from './process-table.js'
import {parseRawLine, type RawLine} from './raw.js'
import {reapEvent} from './reap-event.js'
import {ReorderWindow, type WindowCounters} from './reorder-window.js'
import {SignalJoin, type JoinCounters} from './signal-join.js'
import {deliverEvent, execEvent, exitEvent, forkEvent} from './task-events.js'
import type {LostRecord} from './types.js'

export type {DecodedRecord} from './output-queue.js'

/**
 * With heartbeats in the stream (bpf/control.bt), lines wait until every CPU's lines up to them
 * have been read; at most this long behind the newest line (then they are released, and a line
 * that still comes earlier is written late and counted in outOfOrder).
 */
const HEARTBEAT_CAP_NS = 5_000_000_000

export interface DecoderOptions {
  /** kernel time (CLOCK_MONOTONIC ns, decimal) of t = 0; default: the first line's (the BEGIN marker) */
  baseNs?: string
  /** wall-clock ms minus CLOCK_MONOTONIC ms, for `ts`; without it `ts` counts from the epoch */
  wallOffsetMs?: number
  /** how long lines wait to be put back in kernel time order (per-CPU buffers of bpftrace 0.17) */
  reorderWindowNs?: number
  /**
   * The window grows, up to this, when a line arrives later than the window allowed (a reader
   * behind a busy CPU's buffer); it shrinks back after 30 s of kernel time with no late line.
   */
  maxReorderWindowNs?: number
  /**
   * The stream will carry heartbeats (a live trace of pausetrace's own program): lines wait for
   * them from the start, instead of a time window until the first one comes.
   */
  heartbeats?: boolean
  resolver?: ProcResolver
  classifier?: Classifier
}

/** The decoder's counters, in one object: each part updates its own (described where they are declared). */
export interface DecoderStats extends LossCounters, FloodCounters, ReapCounters, WindowCounters, JoinCounters {
  /** heartbeats were expected and none came: time order by the window only */
  noHeartbeats?: boolean
  /** events put out after one with a later t (the file's time order broken) */
  outOfOrder: number
}

/** What waits in the reorder window: a line, or a record with no time of its own. */
type Queued =
  | {kind: 'line'; line: RawLine}
  | {kind: 'lost'; count: number; source: LostRecord['source']}
  | {kind: 'flood'; name: string; entries: MapEntry[]}

export class Decoder {
  readonly stats: DecoderStats = {seen: {}, badLines: 0, lostReported: 0, lostFound: 0, flooded: 0, unresolvedReaps: 0, lateLines: 0, maxWindowNs: 0, lateSyscalls: 0, outOfOrder: 0}
  /** bpftrace's own view, from the BEGIN marker: the host PID namespace */
  marker?: {ns: string; pidns: number; netns: number}
  attachedProbes?: number
  /** the program has stopped producing (first stop request) */
  stopSeen = false

  private readonly time: EventTime
  private readonly window: ReorderWindow<Queued>
  private readonly watermark: CpuWatermark
  /** the latest t put out */
  private lastOutT = Number.NEGATIVE_INFINITY
  private readonly out = new OutputQueue()
  private readonly processes: ProcessTable
  private readonly signals: SignalJoin
  private readonly heldReaps: HeldReaps
  private readonly floods: FloodDeltas

  constructor(opts: DecoderOptions = {}) {
    this.time = new EventTime(opts.wallOffsetMs)
    if (opts.baseNs !== undefined) this.time.start(opts.baseNs)
    this.window = new ReorderWindow<Queued>(this.stats, opts.reorderWindowNs ?? 250_000_000, opts.maxReorderWindowNs ?? 2_000_000_000)
    this.watermark = new CpuWatermark(() => this.time.baseMod15, opts.heartbeats ?? false)
    this.processes = new ProcessTable(opts.resolver, opts.classifier, (pidns, innerPid) => this.heldReaps.learned({kind: 'host-pid', pidns, innerPid}))
    this.signals = new SignalJoin(this.stats, this.processes, this.time, this.out)
    this.heldReaps = new HeldReaps(this.stats, this.out, (t, w, reaper) => this.tryReap(t, w, reaper))
    this.floods = new FloodDeltas(this.stats, this.processes, this.time)
  }

  /** Wall-clock ms at t = 0. */
  get startWallMs(): number {
    return this.time.startWallMs
  }

  /** One bpftrace record in; the records now ready, in time order, out. */
  push(rec: BtRecord): DecodedRecord[] {
    this.window.noteInput()
    switch (rec.type) {
      case 'printf': {
        const line = parseRawLine(rec.text)
        if (line.tag === 'bad') {
          this.lostLine()
          break
        }
        this.stats.seen[line.tag] = (this.stats.seen[line.tag] ?? 0) + 1
        if (!this.time.started) this.time.start(line.ns)
        if (line.tag === 'P') {
          this.marker = {ns: line.ns, pidns: line.pidns, netns: line.netns}
          break
        }
        if (line.tag === 'Q') {
          this.stopSeen = true
          break
        }
        if (line.tag === 'H') {
          if (line.times) this.watermark.heartbeatLine(this.time.since(line.ns), line.times, line.last === true)
          else this.watermark.heartbeat(this.time.since(line.ns))
          break
        }
        // A signal's target is looked up now, not after the reorder window: it may be gone by then.
        // Every actor read is remembered for that (a target that acted needs no /proc read);
        // a line without an actor (e.g. a heartbeat) has none to remember.
        if (line.tag === 'F') this.processes.sawFork(line.actor, line.childTid)
        else if ('actor' in line) this.processes.sawActor(line.actor)
        // An exec whose file name read back empty, from a program that did not print its comm (an
        // older recording's X line): its new name now, while it likely still runs.
        if (line.tag === 'X' && !line.filename && line.comm === undefined) line.comm = this.processes.commNow(line.actor.tid) ?? ''
        if (line.tag === 'G') {
          if (line.target) this.processes.update(line.target, line.targetComm)
          else this.processes.findTarget(line.targetTid, line.targetComm)
        }
        const t = this.time.since(line.ns)
        this.watermark.line(t)
        this.window.add(t, {kind: 'line', line})
        break
      }
      case 'lost':
        this.stats.lostReported += rec.count
        this.window.addAtNewest({kind: 'lost', count: rec.count, source: 'bpftrace'})
        break
      case 'map':
        if (rec.name === '@flood' || rec.name === '@dflood') this.window.addAtNewest({kind: 'flood', name: rec.name, entries: rec.entries})
        else if (rec.name === '@lp') this.watermark.lastPrinted(rec.entries)
        else if (rec.name === '@n') this.stats.produced = producedPerTag(rec.entries)
        break
      case 'attached':
        this.attachedProbes = rec.probes
        break
      case 'bad':
        this.lostLine()
        break
      default:
        break
    }
    return this.release(this.bound(this.window.newestT))
  }

  /** A line cut by the line splitter for being too long counts as one lost line. */
  pushOverlong(): DecodedRecord[] {
    this.lostLine()
    return []
  }

  /**
   * Time passes: when no line came since the last tick, release what is older than the window.
   * (While lines flow, they drive the release: a reader behind on a busy CPU's buffer must not
   * release by the clock what that buffer still holds.) nowNs is CLOCK_MONOTONIC.
   */
  tick(nowNs: string): DecodedRecord[] {
    const idle = this.window.idleSinceLastTick()
    if (!this.time.started || !idle) return []
    return this.release(this.bound(this.time.offset(nowNs)))
  }

  /**
   * How far to release when the stream (or the clock) is at `now`: with heartbeats, up to where
   * every CPU's lines have been read, but never more than the cap behind; without, the window.
   */
  private bound(now: number): number {
    const w = this.watermark
    if (w.noneBy(now)) this.stats.noHeartbeats = true
    if (!w.active) return now - this.window.sizeNs
    if (w.upTo < now - HEARTBEAT_CAP_NS) w.forceTo(now - HEARTBEAT_CAP_NS)
    return w.upTo
  }

  /** End of input: everything left, then one `lost` record for what the kernel counted and no line showed. */
  finish(): DecodedRecord[] {
    const out = this.release(Number.POSITIVE_INFINITY)
    this.signals.closeAll()
    this.heldReaps.finish()
    out.push(...this.counted(this.out.flush()))
    const extra = lostUnreported(this.stats)
    if (extra > 0) {
      this.stats.lostFound = extra
      out.push({type: 'lost', t: this.window.newestT, count: extra, source: 'kernel-count'})
    }
    return out
  }

  /** After a stop request: every line the kernel produced up to it has been read. */
  get caughtUp(): boolean {
    return this.stopSeen && allProducedSeen(this.stats)
  }

  /** Whether the kernel's own counts arrived, so that the loss figure is exact. */
  get countsVerified(): boolean {
    return this.stats.produced !== undefined
  }

  /** heartbeats complete so far: the stream's time order came from them */
  get heartbeatsReached(): number {
    return this.watermark.reached
  }

  get lastT(): number {
    return this.window.newestT
  }

  private lostLine(): void {
    this.stats.badLines++
    this.window.addAtNewest({kind: 'lost', count: 1, source: 'parser'})
  }

  private release(upTo: number): DecodedRecord[] {
    const window = this.window
    window.beginRelease(upTo)
    for (let item = window.next(upTo); item; item = window.next(upTo)) this.decode(item.t, item.value)
    this.heldReaps.release(upTo - window.maxNs)
    // A generate line whose syscall-exit line never came (lost): written without it after a window.
    this.signals.closeOverdue(upTo - window.sizeNs)
    return this.counted(this.out.flush())
  }

  /** Counts the events that go out behind a later one (a reap given up as lost keeps its own t). */
  private counted(out: DecodedRecord[]): DecodedRecord[] {
    for (const r of out) {
      if (r.type !== 'event') continue
      if (r.t < this.lastOutT) this.stats.outOfOrder++
      else this.lastOutT = r.t
    }
    return out
  }

  /** One item, in time order, to the part that decodes it. */
  private decode(t: number, item: Queued): void {
    if (item.kind === 'lost') {
      this.out.add({type: 'lost', t, count: item.count, source: item.source})
      return
    }
    if (item.kind === 'flood') {
      this.out.addAll(this.floods.events(t, item.name, item.entries))
      return
    }
    const line = item.line
    switch (line.tag) {
      case 'S':
        this.signals.syscall(t, line)
        break
      case 'G':
        this.signals.generate(t, line, this.processes.signalGenerated(line.targetTid, line.sig, line.result))
        break
      case 'D':
        this.out.add(deliverEvent(t, line, this.processes, this.time))
        break
      case 'E':
        this.out.add(exitEvent(t, line, this.processes, this.time))
        if (line.groupDead) this.heldReaps.learned({kind: 'exit-status', hostPid: line.actor.pid})
        break
      case 'W': {
        const reaper = this.processes.update(line.actor, line.comm)
        const waitsFor = this.tryReap(t, line, reaper)
        if (waitsFor !== true) this.heldReaps.hold(t, line, reaper, waitsFor)
        break
      }
      case 'F':
        this.out.add(forkEvent(t, line, this.processes, this.time))
        break
      case 'X':
        this.out.add(execEvent(t, line, this.processes, this.time))
        break
      default:
        break
    }
  }

  /** Writes a reap's event when its child can be told (true); else what it waits for. */
  private tryReap(t: number, w: WaitLine, reaper: ProcInfo): true | WaitKey {
    const ev = reapEvent(t, w, reaper, this.processes, this.time)
    if (ev.kind !== 'reap') return ev
    this.out.add(ev)
    return true
  }
}
