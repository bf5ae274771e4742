// The signal join: a signal syscall's exit line (S) and the signal_generate lines (G) it caused
// become signal events, one per G (or one for the syscall when it generated nothing: a check,
// a failure). The Gs come first and wait for their S, holding back later output; a G whose S
// never comes (lost) is written alone after a window, marked incomplete, and its late S is then
// dropped. A G with no syscall (kernel-sent: SIGCHLD, SIGPIPE, an OOM kill) is written at once.
import {errnoName, siCodeName, signalName, SIGNAL_RESULTS} from './names.js'
import type {EventTime} from './event-time.js'
import type {OutputQueue, OutputRun} from './output-queue.js'
import type {ProcessTable} from './process-table.js'
import type {RawLine} from './raw.js'
import type {ProcRef, SignalEvent, SignalTarget, Via} from './types.js'

type SyscallLine = RawLine & {tag: 'S'}
type GenerateLine = RawLine & {tag: 'G'}

/** The join's counter in DecoderStats. */
export interface JoinCounters {
  /** syscall exit lines that came after their signals had been written without them */
  lateSyscalls: number
}

/** Generate lines waiting for their syscall's exit line, in the output where their events go. */
interface PendingSignals extends OutputRun {
  key: string
  generates: GenerateLine[]
  openedT: number
}

const VIA: Record<number, Via> = {1: 'kill', 2: 'tkill', 3: 'tgkill', 4: 'rt_sigqueueinfo', 5: 'rt_tgsigqueueinfo', 6: 'pidfd_send_signal'}
/** how many syscalls are remembered after their signals were written (for Gs later still) */
const MAX_REMEMBERED = 4096

export class SignalJoin {
  /** by `<tid>:<enterNs>` (one syscall of one thread) */
  private readonly pending = new Map<string, PendingSignals>()
  /** syscalls written, kept for generate lines that may still come, late */
  private readonly doneSyscalls = new Map<string, SyscallLine>()
  /** syscalls whose signals were written without them: their exit line, if it comes, is dropped */
  private readonly closedKeys = new Set<string>()
  /** generate lines whose receiving process had already exited when they came */
  private readonly deadTargets = new WeakSet<RawLine>()

  constructor(
    private readonly counters: JoinCounters,
    private readonly processes: ProcessTable,
    private readonly time: EventTime,
    private readonly out: OutputQueue,
  ) {}

  /** A signal_generate line at its place in time; targetDead: its receiver had exited (a zombie). */
  generate(t: number, g: GenerateLine, targetDead: boolean): void {
    if (targetDead) this.deadTargets.add(g)
    if (g.enterNs === '0') {
      this.out.addAll(this.signalEvents(t, undefined, [g]))
      return
    }
    const key = `${g.actor.tid}:${g.enterNs}`
    const done = this.doneSyscalls.get(key)
    if (done) {
      // The exit line came first (lines out of order beyond the window): join late.
      this.out.addAll(this.signalEvents(t, done, [g]))
      return
    }
    let pending = this.pending.get(key)
    if (!pending) {
      pending = {events: [], waiting: true, key, generates: [], openedT: t}
      this.pending.set(key, pending)
      this.out.addWaiting(pending)
    }
    pending.generates.push(g)
  }

  /** A signal syscall's exit line at its place in time. */
  syscall(t: number, s: SyscallLine): void {
    const key = `${s.actor.tid}:${s.enterNs}`
    const pending = this.pending.get(key)
    if (pending) {
      pending.events = this.signalEvents(t, s, pending.generates)
      pending.waiting = false
      this.pending.delete(key)
    } else if (this.closedKeys.size > 0 && this.closedKeys.delete(key)) {
      // Its signals were already written (marked incomplete) when this line was overdue.
      this.counters.lateSyscalls++
      return
    } else {
      this.out.addAll(this.signalEvents(t, s, []))
    }
    // Kept for generate lines that may still come, late: none for a check (signal 0) or a failure.
    if (s.sig !== 0 && s.ret >= 0) {
      this.doneSyscalls.set(key, s)
      if (this.doneSyscalls.size > MAX_REMEMBERED) this.doneSyscalls.delete(this.doneSyscalls.keys().next().value as string)
    }
  }

  /** Writes the generate lines opened before `before` without their syscall (its exit line was lost). */
  closeOverdue(before: number): void {
    if (this.pending.size === 0) return
    for (const pending of this.pending.values()) if (pending.openedT < before) this.close(pending)
  }

  /** End of input: every generate line still waiting is written without its syscall. */
  closeAll(): void {
    for (const pending of this.pending.values()) this.close(pending)
  }

  private close(pending: PendingSignals): void {
    pending.events = this.signalEvents(pending.openedT, undefined, pending.generates)
    pending.waiting = false
    this.pending.delete(pending.key)
    this.closedKeys.add(pending.key)
    if (this.closedKeys.size > MAX_REMEMBERED) this.closedKeys.delete(this.closedKeys.values().next().value as string)
  }

  // (built field by field, in the order they are written, no spreads: this runs once per signal)
  private signalEvents(t: number, s: SyscallLine | undefined, generates: GenerateLine[]): SignalEvent[] {
    const {processes, time} = this
    if (!s) {
      // Kernel-sent (or the syscall's exit line was lost: then via is inferred from si_code).
      return generates.map((g) => {
        const tg = time.since(g.ns)
        const via: Via = g.enterNs === '0' ? 'kernel' : g.code === -6 ? 'tkill' : g.code === -1 ? 'rt_sigqueueinfo' : 'kill'
        const ev: SignalEvent = {type: 'event', kind: 'signal', t: tg, ts: time.iso(tg), sig: g.sig, signame: signalName(g.sig), via, from: processes.procRef(processes.update(g.actor)), to: this.receiver(g), result: SIGNAL_RESULTS[g.result] ?? 'delivered', code: siCodeName(g.sig, g.code)}
        if (this.deadTargets.has(g)) ev.targetDead = true
        // The syscall's exit line was lost: via is inferred from si_code and the event says so.
        if (g.enterNs !== '0') Object.assign(ev, {incomplete: true})
        return ev
      })
    }
    const sender = processes.update(s.actor, s.comm)
    const from = processes.procRef(sender)
    const via = VIA[s.via] ?? 'kill'
    const target = this.target(s, generates)
    const signame = signalName(s.sig)
    const errno = s.ret < 0 ? errnoName(-s.ret) : undefined
    if (generates.length === 0) {
      const ev: SignalEvent = {type: 'event', kind: 'signal', sig: s.sig, signame, via, from, target, t, ts: time.iso(t), ret: s.ret}
      if (errno !== undefined) ev.errno = errno
      return [ev]
    }
    const tgid = via === 'tgkill' || via === 'rt_tgsigqueueinfo' ? s.a1 : undefined
    return generates.map((g) => {
      const tg = time.since(g.ns)
      const ev: SignalEvent = {type: 'event', kind: 'signal', sig: s.sig, signame, via, from, target, t: tg, ts: time.iso(tg), to: this.receiver(g, tgid), result: SIGNAL_RESULTS[g.result] ?? 'delivered', ret: s.ret}
      if (errno !== undefined) ev.errno = errno
      ev.code = siCodeName(g.sig, g.code)
      if (this.deadTargets.has(g)) ev.targetDead = true
      return ev
    })
  }

  private receiver(g: GenerateLine, tgid?: number): ProcRef {
    return this.processes.procRefOfTid(g.targetTid, g.targetComm, tgid)
  }

  /** What the syscall named: a process, a thread, a process group, every process, a pidfd. */
  private target(s: SyscallLine, generates: GenerateLine[]): SignalTarget {
    switch (VIA[s.via]) {
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
        const g = generates[0]
        if (!g) return {pidfd: s.a1}
        return {pidfd: s.a1, pid: this.processes.procRefOfTid(g.targetTid, g.targetComm).pid}
      }
      default:
        return {}
    }
  }
}
