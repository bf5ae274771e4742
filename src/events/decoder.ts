// bpftrace records → CONTRACT events, in kernel time order. Joins a signal syscall with the
// signal_generate lines it caused, translates PIDs that wait4/waitid return inside a PID
// namespace to host PIDs, takes a reaped child's status from its exit when the reaper passed no
// pointer, turns the kernel's cumulative flood counts into flood events, and accounts for every
// line bpftrace lost. Pure: no I/O, no clock (time comes in as kernel nanoseconds).
import type {BtRecord} from '../stream/bpftrace-json.js'
import {MinHeap} from './heap.js'
import {errnoName, siCodeName, signalName, waitOptionNames, SIGNAL_RESULTS} from './names.js'
import {nsSince, parseRawLine, type Actor, type RawLine} from './raw.js'
import type {
  DeliverEvent, ExitEvent, FloodEvent, LostRecord, ProcRef, ReapEvent, Role, SignalEvent, SignalTarget, TraceEvent, Via, WaitStatus,
} from './types.js'

/** What is known of a task: from its own lines, from its parent's fork, or from /proc. */
export interface ProcInfo {
  tid: number
  pid: number
  comm: string
  innerPid: number | null
  pidns: number
  level: number
  netns: number
  ipcns: number
  utsns: number
  mntns: number
  cgroupId: number
  ppid: number
}

/** Lookups the pure core may ask of the live system (absent on replay and in unit tests). */
export interface ProcResolver {
  /** a task not seen in any line yet (bpftrace 0.17 cannot read a signal's target in the kernel) */
  task(tid: number): ProcInfo | undefined
  /** the host PID of a process known by its PID inside a namespace (exited before the trace began) */
  hostPid(pidns: number, innerPid: number): number | undefined
  /** the wait status a zombie present at the start will report */
  zombieStatus(hostPid: number): number | undefined
}

export interface Classifier {
  classify(info: ProcInfo): {sandbox: string | null; role: Role}
}

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
  resolver?: ProcResolver
  classifier?: Classifier
}

export type DecodedRecord = TraceEvent | LostRecord

const VIA: Record<number, Via> = {1: 'kill', 2: 'tkill', 3: 'tgkill', 4: 'rt_sigqueueinfo', 5: 'rt_tgsigqueueinfo', 6: 'pidfd_send_signal'}
const KIND_OF_TAG: Record<string, number> = {S: 1, G: 2, D: 3, E: 4, W: 5, F: 6, X: 7}
const HANDLER = ['default', 'ignore', 'handler'] as const
const MAX_PROCS = 50_000
const SIGKILL = 9
const MAX_HELD_REAPS = 10_000

interface HeldReap {
  t: number
  w: RawLine & {tag: 'W'}
  reaper: ProcInfo
  /** `n<pidns>:<innerPid>`: the child's host PID; `x<hostPid>`: its exit status */
  waits: string
  done: boolean
  /** in heldReaps already (a reap held again under another key is not listed twice) */
  listed: boolean
}

type Queued =
  | {q: 'line'; line: RawLine}
  | {q: 'lost'; count: number; source: LostRecord['source']}
  | {q: 'flood'; name: string; entries: Array<{key: string[]; value: number}>}

interface Slot {
  key?: string
  events: DecodedRecord[]
  /** generate lines waiting for their syscall's exit line */
  gens?: Array<RawLine & {tag: 'G'}>
  openedT?: number
}

export interface DecoderStats {
  /** printf lines seen, per tag */
  seen: Record<string, number>
  /** lines the kernel produced per tag, from the count maps printed at exit (undefined until then) */
  produced?: Record<string, number>
  badLines: number
  lostReported: number
  lostFound: number
  flooded: number
  /** reaps whose child could not be named (its PID inside a namespace unknown): each is a `lost` record */
  unresolvedReaps: number
  /** lines that came after later ones had been released (written out of time order) */
  lateLines: number
  /** the largest reorder window used, ns */
  maxWindowNs: number
  /** syscall exit lines that came after their signals had been written without them */
  lateSyscalls: number
}

const SHRINK_AFTER_NS = 30e9

export class Decoder {
  readonly stats: DecoderStats = {seen: {}, badLines: 0, lostReported: 0, lostFound: 0, flooded: 0, unresolvedReaps: 0, lateLines: 0, maxWindowNs: 0, lateSyscalls: 0}
  /** bpftrace's own view, from the BEGIN marker: the host PID namespace */
  marker?: {ns: string; pidns: number; netns: number}
  attachedProbes?: number
  /** the program has stopped producing (first stop request) */
  stopSeen = false

  private base?: string
  private wallBaseMs = 0
  private window: number
  private readonly minWindow: number
  private readonly maxWindow: number
  /** everything up to this t has been released */
  private releasedUpTo = Number.NEGATIVE_INFINITY
  private lastLateT = 0
  /** lines pushed since the last tick: the clock releases only when input is idle */
  private pushedSinceTick = 0
  /** reaps waiting for their child's PID or exit status (its lines came late) */
  /** held reaps in arrival order (for expiry), and by what each waits for */
  private heldReaps: HeldReap[] = []
  private heldBy = new Map<string, HeldReap[]>()
  /** keys held reaps wait for that were just learned */
  private woken: string[] = []
  private closedKeys = new Set<string>()
  private tsSec = Number.NaN
  private tsPrefix = ''
  private heap = new MinHeap<Queued>()
  private seq = 0
  private maxT = 0
  private slots: Slot[] = []
  private pending = new Map<string, Slot>()
  private doneSyscalls = new Map<string, RawLine & {tag: 'S'}>()
  private procs = new Map<number, ProcInfo>()
  private nsIndex = new Map<string, number>()
  private exitStatus = new Map<number, number>()
  /** per process (tgid): the last signal generated to it with result "delivered" */
  private lastQueued = new Map<number, number>()
  /** generate lines whose receiving process had already exited when they came */
  private deadTargets = new WeakSet<RawLine>()
  private floodPrev = new Map<string, number>()
  private floodSince = new Map<string, number>()

  constructor(private readonly opts: DecoderOptions = {}) {
    if (opts.baseNs !== undefined) this.setBase(opts.baseNs)
    this.window = this.minWindow = opts.reorderWindowNs ?? 250_000_000
    this.maxWindow = Math.max(this.minWindow, opts.maxReorderWindowNs ?? 2_000_000_000)
    this.stats.maxWindowNs = this.window
  }

  private setBase(ns: string): void {
    this.base = ns
    this.wallBaseMs = this.opts.wallOffsetMs === undefined ? 0 : this.opts.wallOffsetMs + Number(BigInt(ns) / 1000n) / 1000
  }

  /** Wall-clock ms at t = 0. */
  get startWallMs(): number {
    return this.wallBaseMs
  }

  /** One bpftrace record in; the records now ready, in time order, out. */
  push(rec: BtRecord): DecodedRecord[] {
    this.pushedSinceTick++
    switch (rec.type) {
      case 'printf': {
        const line = parseRawLine(rec.text)
        if (line.tag === 'bad') {
          this.stats.badLines++
          this.enqueue(this.maxT, {q: 'lost', count: 1, source: 'parser'})
          break
        }
        this.stats.seen[line.tag] = (this.stats.seen[line.tag] ?? 0) + 1
        if (this.base === undefined) this.setBase(line.ns)
        if (line.tag === 'P') {
          this.marker = {ns: line.ns, pidns: line.pidns, netns: line.netns}
          break
        }
        if (line.tag === 'Q') {
          this.stopSeen = true
          break
        }
        // A signal's target is looked up now, not after the reorder window: it may be gone by then.
        if (line.tag === 'G') {
          if (line.target) this.learn(line.target, line.targetComm)
          else this.lookup(line.targetTid)
        }
        {
          const t = Math.max(0, nsSince(line.ns, this.base as string))
          if (t < this.releasedUpTo) this.late(t)
          this.enqueue(t, {q: 'line', line})
        }
        break
      }
      case 'lost':
        this.stats.lostReported += rec.count
        this.enqueue(this.maxT, {q: 'lost', count: rec.count, source: 'bpftrace'})
        break
      case 'map':
        if (rec.name === '@flood' || rec.name === '@dflood') this.enqueue(this.maxT, {q: 'flood', name: rec.name, entries: rec.entries})
        else if (rec.name === '@n') {
          const produced: Record<string, number> = {}
          for (const e of rec.entries) {
            const tag = Object.keys(KIND_OF_TAG).find((k) => String(KIND_OF_TAG[k]) === e.key[0])
            if (tag) produced[tag] = e.value
          }
          this.stats.produced = produced
        }
        break
      case 'attached':
        this.attachedProbes = rec.probes
        break
      case 'bad':
        this.stats.badLines++
        this.enqueue(this.maxT, {q: 'lost', count: 1, source: 'parser'})
        break
      default:
        break
    }
    return this.release(this.maxT - this.window)
  }

  /** A line cut by the line splitter for being too long counts as one lost line. */
  pushOverlong(): DecodedRecord[] {
    this.stats.badLines++
    this.enqueue(this.maxT, {q: 'lost', count: 1, source: 'parser'})
    return []
  }

  /**
   * Time passes: when no line came since the last tick, release what is older than the window.
   * (While lines flow, they drive the release: a reader behind on a busy CPU's buffer must not
   * release by the clock what that buffer still holds.) nowNs is CLOCK_MONOTONIC.
   */
  tick(nowNs: string): DecodedRecord[] {
    const idle = this.pushedSinceTick === 0
    this.pushedSinceTick = 0
    if (this.base === undefined || !idle) return []
    return this.release(nsSince(nowNs, this.base) - this.window)
  }

  /** A line older than what was already released: widen the window so that the next ones wait long enough. */
  private late(t: number): void {
    this.stats.lateLines++
    this.lastLateT = this.maxT
    // Straight to the widest window: a reader behind on one CPU's buffer falls further behind as
    // the burst goes on, and every step of a gradual widening would write another batch late.
    this.window = this.maxWindow
    this.stats.maxWindowNs = this.maxWindow
  }

  /** End of input: everything left, then one `lost` record for what the kernel counted and no line showed. */
  finish(): DecodedRecord[] {
    const out = this.release(Number.POSITIVE_INFINITY)
    for (const slot of this.slots) this.closeSlot(slot)
    this.retryReaps(Number.POSITIVE_INFINITY, true)
    out.push(...this.flushSlots())
    const produced = this.stats.produced
    if (produced) {
      let missing = 0
      for (const [tag, n] of Object.entries(produced)) missing += Math.max(0, n - (this.stats.seen[tag] ?? 0))
      const extra = missing - this.stats.lostReported
      if (extra > 0) {
        this.stats.lostFound = extra
        out.push({type: 'lost', t: this.maxT, count: extra, source: 'kernel-count'})
      }
    }
    return out
  }

  /** After a stop request: every line the kernel produced up to it has been read. */
  get caughtUp(): boolean {
    const produced = this.stats.produced
    if (!this.stopSeen || !produced) return false
    return Object.entries(produced).every(([tag, n]) => (this.stats.seen[tag] ?? 0) >= n)
  }

  /** Whether the kernel's own counts arrived, so that the loss figure is exact. */
  get countsVerified(): boolean {
    return this.stats.produced !== undefined
  }

  get lastT(): number {
    return this.maxT
  }

  private enqueue(t: number, value: Queued): void {
    if (t > this.maxT) this.maxT = t
    this.heap.push({t, seq: this.seq++, value})
  }

  private release(upTo: number): DecodedRecord[] {
    if (upTo > this.releasedUpTo) this.releasedUpTo = upTo
    if (this.window > this.minWindow && this.maxT - this.lastLateT > SHRINK_AFTER_NS) {
      this.window = Math.max(this.minWindow, this.window / 2)
      this.lastLateT = this.maxT
    }
    for (let top = this.heap.peek(); top && top.t <= upTo; top = this.heap.peek()) {
      this.heap.pop()
      this.handle(top.t, top.value)
    }
    if (this.heldReaps.length > 0) this.retryReaps(upTo)
    else this.woken.length = 0
    // A generate line whose syscall-exit line never came (lost): close it after a window.
    for (const slot of this.slots) if (slot.gens && slot.openedT !== undefined && slot.openedT < upTo - this.window) this.closeSlot(slot)
    return this.flushSlots()
  }

  private flushSlots(): DecodedRecord[] {
    let i = 0
    const out: DecodedRecord[] = []
    while (i < this.slots.length && !this.slots[i].gens) {
      out.push(...this.slots[i].events)
      i++
    }
    if (i > 0) this.slots.splice(0, i)
    return out
  }

  private ready(...events: DecodedRecord[]): void {
    const last = this.slots.at(-1)
    if (last && !last.gens) last.events.push(...events)
    else this.slots.push({events})
  }

  private handle(t: number, item: Queued): void {
    if (item.q === 'lost') {
      this.ready({type: 'lost', t, count: item.count, source: item.source})
      return
    }
    if (item.q === 'flood') {
      this.floods(t, item.name, item.entries)
      return
    }
    const line = item.line
    switch (line.tag) {
      case 'S':
        this.syscall(t, line)
        break
      case 'G':
        this.generate(t, line)
        break
      case 'D':
        this.deliver(t, line)
        break
      case 'E':
        this.exit(t, line)
        break
      case 'W':
        this.reap(t, line)
        break
      case 'F':
        this.fork(t, line)
        break
      case 'X':
        this.exec(t, line)
        break
      default:
        break
    }
  }

  // ---- processes ------------------------------------------------------------------------

  private learn(a: Actor, comm?: string): ProcInfo {
    let p = this.procs.get(a.tid)
    if (!p) {
      if (this.procs.size >= MAX_PROCS) this.procs.delete(this.procs.keys().next().value as number)
      p = {tid: a.tid, pid: a.pid, comm: comm ?? '', innerPid: a.innerPid, pidns: a.pidns, level: a.level, netns: a.netns, ipcns: a.ipcns, utsns: a.utsns, mntns: a.mntns, cgroupId: a.cgroupId, ppid: a.ppid}
      this.procs.set(a.tid, p)
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
    if (!p.comm) p.comm = this.opts.resolver?.task(a.tid)?.comm ?? ''
    if (a.level > 0) {
      const key = `${a.pidns}:${a.innerPid}`
      if (this.nsIndex.get(key) !== a.pid) {
        this.nsIndex.set(key, a.pid)
        if (this.heldBy.has(`n${key}`)) this.woken.push(`n${key}`)
      }
    }
    return p
  }

  private lookup(tid: number): ProcInfo | undefined {
    let p = this.procs.get(tid)
    if (!p) {
      p = this.opts.resolver?.task(tid)
      if (p) {
        this.procs.set(tid, p)
        if (p.level > 0 && p.innerPid !== null) this.nsIndex.set(`${p.pidns}:${p.innerPid}`, p.pid)
      }
    }
    return p
  }

  private ref(p: ProcInfo): ProcRef {
    const c = this.opts.classifier?.classify(p) ?? {sandbox: null, role: 'host' as Role}
    return {pid: p.pid, tid: p.tid, comm: p.comm, innerPid: p.innerPid, sandbox: c.sandbox, role: c.role}
  }

  private refOfTid(tid: number, comm?: string, pid?: number): ProcRef {
    const p = this.lookup(tid)
    if (p) {
      if (comm) p.comm = comm
      return this.ref(p)
    }
    return {pid: pid ?? tid, tid, comm: comm ?? '', innerPid: null, sandbox: null, role: 'host'}
  }

  /** ISO time of t; the text of the current second is kept, so most events only format their ms. */
  private ts(t: number): string {
    const ms = Math.floor(this.wallBaseMs + t / 1e6)
    const sec = ms - (((ms % 1000) + 1000) % 1000)
    if (sec !== this.tsSec) {
      this.tsSec = sec
      this.tsPrefix = new Date(sec).toISOString().slice(0, -4)
    }
    const m = ms - sec
    return `${this.tsPrefix}${m < 10 ? '00' : m < 100 ? '0' : ''}${m}Z`
  }

  // ---- signals --------------------------------------------------------------------------

  private target(s: RawLine & {tag: 'S'}, gens: Array<RawLine & {tag: 'G'}>): SignalTarget {
    const via = VIA[s.via]
    switch (via) {
      case 'kill':
      case 'rt_sigqueueinfo':
        if (s.a1 > 0) return {pid: s.a1}
        if (s.a1 === 0) return {pgid: s.pgid}
        if (s.a1 === -1) return {all: true}
        return {pgid: -s.a1}
      case 'tkill':
        return {tid: s.a1}
      case 'tgkill':
      case 'rt_tgsigqueueinfo':
        return {pid: s.a1, tid: s.a2}
      case 'pidfd_send_signal': {
        const g = gens[0]
        if (!g) return {pidfd: s.a1}
        return {pidfd: s.a1, pid: this.refOfTid(g.targetTid, g.targetComm).pid}
      }
      default:
        return {}
    }
  }

  private signalEvents(t: number, s: (RawLine & {tag: 'S'}) | undefined, gens: Array<RawLine & {tag: 'G'}>): SignalEvent[] {
    if (!s) {
      // Kernel-sent (or the syscall's exit line was lost: then via is inferred from si_code).
      return gens.map((g) => {
        const tg = this.tOf(g)
        const via: Via = g.enterNs === '0' ? 'kernel' : g.code === -6 ? 'tkill' : g.code === -1 ? 'rt_sigqueueinfo' : 'kill'
        const ev: SignalEvent = {type: 'event', kind: 'signal', t: tg, ts: this.ts(tg), sig: g.sig, signame: signalName(g.sig), via, from: this.ref(this.learn(g.actor)), to: this.toRef(g), result: SIGNAL_RESULTS[g.result] ?? 'delivered', code: siCodeName(g.sig, g.code)}
        if (this.deadTargets.has(g)) ev.targetDead = true
        // The syscall's exit line was lost: via is inferred from si_code and the event says so.
        if (g.enterNs !== '0') Object.assign(ev, {incomplete: true})
        return ev
      })
    }
    const sender = this.learn(s.actor, s.comm)
    const from = this.ref(sender)
    const via = VIA[s.via] ?? 'kill'
    const target = this.target(s, gens)
    const signame = signalName(s.sig)
    const errno = s.ret < 0 ? errnoName(-s.ret) : undefined
    // (built field by field, in the order they are written: this runs once per signal)
    if (gens.length === 0) {
      const ev: SignalEvent = {type: 'event', kind: 'signal', sig: s.sig, signame, via, from, target, t, ts: this.ts(t), ret: s.ret}
      if (errno !== undefined) ev.errno = errno
      return [ev]
    }
    const tgid = via === 'tgkill' || via === 'rt_tgsigqueueinfo' ? s.a1 : undefined
    return gens.map((g) => {
      const tg = this.tOf(g)
      const ev: SignalEvent = {type: 'event', kind: 'signal', sig: s.sig, signame, via, from, target, t: tg, ts: this.ts(tg), to: this.toRef(g, tgid), result: SIGNAL_RESULTS[g.result] ?? 'delivered', ret: s.ret}
      if (errno !== undefined) ev.errno = errno
      ev.code = siCodeName(g.sig, g.code)
      if (this.deadTargets.has(g)) ev.targetDead = true
      return ev
    })
  }

  private tOf(line: RawLine): number {
    return Math.max(0, nsSince(line.ns, this.base as string))
  }

  private toRef(g: RawLine & {tag: 'G'}, tgid?: number): ProcRef {
    return this.refOfTid(g.targetTid, g.targetComm, tgid)
  }

  private generate(t: number, g: RawLine & {tag: 'G'}): void {
    // What the receiver was at this moment (the events are built later, at the syscall's exit).
    const to = this.procs.get(g.targetTid)
    if (to) {
      if (this.exitStatus.has(to.pid)) this.deadTargets.add(g)
      else if (g.result === 0 && killsByDefault(g.sig)) {
        this.lastQueued.set(to.pid, g.sig)
        if (this.lastQueued.size > MAX_PROCS) this.lastQueued.delete(this.lastQueued.keys().next().value as number)
      }
    }
    if (g.enterNs === '0') {
      this.ready(...this.signalEvents(t, undefined, [g]))
      return
    }
    const key = `${g.actor.tid}:${g.enterNs}`
    const done = this.doneSyscalls.get(key)
    if (done) {
      // The exit line came first (lines out of order beyond the window): join late.
      this.ready(...this.signalEvents(t, done, [g]))
      return
    }
    let slot = this.pending.get(key)
    if (!slot) {
      slot = {key, events: [], gens: [], openedT: t}
      this.pending.set(key, slot)
      this.slots.push(slot)
    }
    slot.gens?.push(g)
  }

  private syscall(t: number, s: RawLine & {tag: 'S'}): void {
    const key = `${s.actor.tid}:${s.enterNs}`
    const slot = this.pending.get(key)
    if (slot) {
      slot.events = this.signalEvents(t, s, slot.gens ?? [])
      slot.gens = undefined
      this.pending.delete(key)
    } else if (this.closedKeys.size > 0 && this.closedKeys.delete(key)) {
      // Its signals were already written (marked incomplete) when this line was overdue.
      this.stats.lateSyscalls++
      return
    } else {
      this.ready(...this.signalEvents(t, s, []))
    }
    // Kept for generate lines that may still come, late: none for a check (signal 0) or a failure.
    if (s.sig !== 0 && s.ret >= 0) {
      this.doneSyscalls.set(key, s)
      if (this.doneSyscalls.size > 4096) this.doneSyscalls.delete(this.doneSyscalls.keys().next().value as string)
    }
  }

  private closeSlot(slot: Slot): void {
    if (!slot.gens) return
    slot.events = this.signalEvents(slot.openedT ?? 0, undefined, slot.gens)
    slot.gens = undefined
    if (slot.key) {
      this.pending.delete(slot.key)
      this.closedKeys.add(slot.key)
      if (this.closedKeys.size > 4096) this.closedKeys.delete(this.closedKeys.values().next().value as string)
    }
  }

  private deliver(t: number, d: RawLine & {tag: 'D'}): void {
    const p = this.learn(d.actor, d.comm)
    const ev: DeliverEvent = {type: 'event', kind: 'deliver', t, ts: this.ts(t), proc: this.ref(p), sig: d.sig, signame: signalName(d.sig), handler: HANDLER[d.handler] ?? 'handler'}
    const queued = this.lastQueued.get(p.pid)
    if (d.sig === SIGKILL && ev.handler === 'default') {
      // A fatal signal taken by its default action is carried out as a SIGKILL to every thread
      // of the process, with no signal_generate of SIGKILL: name the signal that did it.
      if (queued !== undefined && queued !== SIGKILL) ev.groupKillFor = queued
    } else if (queued === d.sig) this.lastQueued.delete(p.pid) // it reached a handler or SIG_IGN: not fatal
    this.ready(ev)
  }

  private floods(t: number, name: string, entries: Array<{key: string[]; value: number}>): void {
    const of = name === '@flood' ? 'signal' : 'deliver'
    for (const e of entries) {
      const key = `${name}:${e.key.join(',')}`
      const prev = this.floodPrev.get(key) ?? 0
      const delta = e.value - prev
      if (delta <= 0) continue
      this.floodPrev.set(key, e.value)
      const sinceT = this.floodSince.get(key) ?? 0
      this.floodSince.set(key, t)
      const nums = e.key.map(Number)
      const [fromPid, toTid, sig] = of === 'signal' ? nums : [nums[0], nums[0], nums[1]]
      const ev: FloodEvent = {type: 'event', kind: 'flood', t, ts: this.ts(t), from: this.refOfTid(fromPid), to: this.refOfTid(toTid), sig, signame: signalName(sig), count: delta, sinceT, of}
      this.stats.flooded += of === 'signal' ? delta : 0
      this.ready(ev)
    }
  }

  // ---- exits, reaps, the tree -----------------------------------------------------------

  private exit(t: number, e: RawLine & {tag: 'E'}): void {
    const p = this.learn(e.actor, e.comm)
    const x = e.exitCode
    const ev: ExitEvent = {type: 'event', kind: 'exit', t, ts: this.ts(t), proc: this.ref(p), groupDead: e.groupDead}
    if (x & 0x7f) {
      ev.signal = x & 0x7f
      ev.core = (x & 0x80) !== 0
    } else ev.code = (x >> 8) & 0xff
    if (e.how === 1) ev.how = 'exit'
    else if (e.how === 2) ev.how = 'exit_group'
    if (e.groupDead) {
      this.lastQueued.delete(e.actor.pid)
      this.exitStatus.set(e.actor.pid, x)
      if (this.heldBy.has(`x${e.actor.pid}`)) this.woken.push(`x${e.actor.pid}`)
    }
    this.ready(ev)
  }

  private reap(t: number, w: RawLine & {tag: 'W'}): void {
    const reaper = this.learn(w.actor, w.comm)
    const waits = this.tryReap(t, w, reaper)
    if (waits === true) return
    if (this.heldReaps.length >= MAX_HELD_REAPS) this.dropReap(this.heldReaps.shift() as HeldReap)
    this.hold({t, w, reaper, waits, done: false, listed: false})
  }

  private hold(h: HeldReap): void {
    if (!h.listed) {
      h.listed = true
      this.heldReaps.push(h)
    }
    const list = this.heldBy.get(h.waits)
    if (list) list.push(h)
    else this.heldBy.set(h.waits, [h])
  }

  private dropReap(h: HeldReap): void {
    if (h.done) return
    h.done = true
    this.stats.unresolvedReaps++
    this.ready({type: 'lost', t: h.t, count: 1, source: 'unresolved'})
  }

  /**
   * Held reaps: written once their child is known (tried again only when something they may
   * wait for was learned), or as one lost record each once overdue. They are held as long as
   * the window may ever grow: a reap is rare enough to wait for its child's line.
   */
  private retryReaps(upTo: number, all = false): void {
    const keys = all ? [...this.heldBy.keys()] : this.woken.splice(0)
    for (const key of keys) {
      const list = this.heldBy.get(key)
      if (!list) continue
      this.heldBy.delete(key)
      for (const h of list) {
        if (h.done) continue
        const waits = this.tryReap(h.t, h.w, h.reaper)
        if (waits === true) h.done = true
        else {
          h.waits = waits
          this.hold(h)
        }
      }
    }
    const overdue = upTo - this.maxWindow
    let n = 0
    while (n < this.heldReaps.length && (this.heldReaps[n].done || this.heldReaps[n].t < overdue)) this.dropReap(this.heldReaps[n++])
    if (n > 0) {
      this.heldReaps.splice(0, n)
      if (this.heldReaps.length === 0) this.heldBy.clear()
    }
  }

  /** The reap event, when its child's host PID and status can be told (true); else what it waits for. */
  private tryReap(t: number, w: RawLine & {tag: 'W'}, reaper: ProcInfo): true | string {
    const syscall = w.syscall === 4 ? 'wait4' : 'waitid'
    const nsPid = syscall === 'wait4' ? w.ret : w.siPid
    let hostPid: number | undefined
    if (w.actor.level === 0) hostPid = nsPid
    else hostPid = this.nsIndex.get(`${w.actor.pidns}:${nsPid}`) ?? this.opts.resolver?.hostPid(w.actor.pidns, nsPid)
    if (hostPid === undefined) return `n${w.actor.pidns}:${nsPid}`
    let status: WaitStatus | undefined
    let statusFrom: ReapEvent['statusFrom'] = 'wait'
    if (syscall === 'waitid') status = fromSiginfo(w.siCode, w.siStatus)
    else if (w.status !== -1) status = fromWaitStatus(w.status)
    else {
      statusFrom = 'exit'
      const x = this.exitStatus.get(hostPid) ?? this.opts.resolver?.zombieStatus(hostPid)
      if (x !== undefined) status = fromWaitStatus(x)
    }
    if (!status) return `x${hostPid}`
    const childInfo = this.procs.get(hostPid)
    const child: ProcRef = childInfo
      ? this.ref(childInfo)
      : {pid: hostPid, tid: hostPid, comm: '', innerPid: w.actor.level === 0 ? null : nsPid, sandbox: null, role: 'host'}
    if (w.actor.level > 0 && child.innerPid === null) child.innerPid = nsPid
    const ev: ReapEvent = {type: 'event', kind: 'reap', t, ts: this.ts(t), reaper: this.ref(reaper), child, syscall, status, statusFrom}
    // -1: the call began before the probes attached; its options are unknown
    if (w.options !== -1) ev.options = waitOptionNames(w.options, syscall)
    if ('exited' in status || 'signaled' in status) {
      // The entry stays (flood totals and late lines may still name it) until the table is full.
      this.exitStatus.delete(hostPid)
      if (childInfo && childInfo.innerPid !== null) this.nsIndex.delete(`${childInfo.pidns}:${childInfo.innerPid}`)
    }
    this.ready(ev)
    return true
  }


  private fork(t: number, f: RawLine & {tag: 'F'}): void {
    const parent = this.learn(f.actor, f.comm)
    // always a fresh entry: the child's TID may be a reused one with a stale entry
    const childInfo: ProcInfo = f.thread
      ? {...parent, tid: f.childTid, innerPid: parent.innerPid}
      : {...parent, tid: f.childTid, pid: f.childTid, innerPid: null, ppid: parent.pid}
    this.procs.set(f.childTid, childInfo)
    if (!f.thread) {
      // a reused PID: what was known of the process that had it is not this one's
      this.exitStatus.delete(f.childTid)
      this.lastQueued.delete(f.childTid)
    }
    const ev = {type: 'event' as const, kind: 'fork' as const, t, ts: this.ts(t), parent: this.ref(parent), child: this.ref(childInfo), thread: f.thread}
    this.ready(ev)
  }

  private exec(t: number, x: RawLine & {tag: 'X'}): void {
    const comm = Buffer.from(x.filename.slice(x.filename.lastIndexOf('/') + 1)).subarray(0, 15).toString()
    const p = this.learn(x.actor, comm)
    this.ready({type: 'event', kind: 'exec', t, ts: this.ts(t), proc: this.ref(p), filename: x.filename})
  }
}

/** Whether a signal's default action ends the process (not ignore, not stop). */
function killsByDefault(sig: number): boolean {
  return sig !== 17 && sig !== 18 && sig !== 23 && sig !== 28 && (sig < 19 || sig > 22)
}

export function fromWaitStatus(s: number): WaitStatus {
  const low = s & 0x7f
  if (low === 0) return {exited: (s >> 8) & 0xff}
  if ((s & 0xff) === 0x7f) return {stopped: (s >> 8) & 0xff}
  if ((s & 0xffff) === 0xffff) return {continued: true}
  return {signaled: low, core: (s & 0x80) !== 0}
}

export function fromSiginfo(code: number, status: number): WaitStatus | undefined {
  switch (code) {
    case 1:
      return {exited: status & 0xff}
    case 2:
      return {signaled: status, core: false}
    case 3:
      return {signaled: status, core: true}
    case 4:
    case 5:
      return {stopped: status}
    case 6:
      return {continued: true}
    default:
      return undefined
  }
}
