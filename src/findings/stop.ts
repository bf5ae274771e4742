// `grace-period-exhausted` and `sigterm-ignored-by-pid1`: a stop signal (SIGTERM, SIGINT, SIGQUIT,
// or whatever signal the container runtime sends first: an image's STOPSIGNAL) to a process of a
// sandbox that did not end it, followed by a SIGKILL someone sent. What happened to the stop
// signal decides the sentence: dropped by the kernel (PID 1 without a handler), ignored by the
// program (SIG_IGN), handled without exiting, or left pending (blocked, or read from a signalfd).
import type {DeliverEvent, ProcRef, SignalEvent, TraceEvent} from '../events/types.js'
import type {FindingContext, Rule} from './context.js'
import {at, duration, endsByDefault, place, who} from './words.js'

const STOP_SIGNALS = new Set([2, 3, 15])
const SIGKILL = 9
const SIGCHLD = 17

interface Pending {
  /** the first stop signal of this episode, and how many were sent */
  first: SignalEvent
  count: number
  handled?: DeliverEvent
  signals: SignalEvent[]
}

function isStopSignal(e: SignalEvent): boolean {
  if (e.sig === SIGKILL || e.sig === SIGCHLD || e.sig === 0) return false
  // a runtime's first signal is the image's stop signal; its own threads' SIGURG is not one
  return STOP_SIGNALS.has(e.sig) || (e.from.runtime === true && endsByDefault(e.sig))
}

/** Why the stop signal did not end the process, in the words of the finding. */
function whyNot(p: Pending): {cause: string; advice: string} {
  const s = p.first
  const to = s.to as ProcRef
  if (p.handled) {
    return {
      cause: `its handler ran at ${at(p.handled.t)}, but the process did not exit`,
      advice: `make the ${s.signame} handler finish its shutdown and exit within the grace period, or raise terminationGracePeriodSeconds to what the shutdown really takes`,
    }
  }
  if (s.result === 'ignored' && to.innerPid === 1) {
    return {
      cause: `PID 1 in its namespace, no handler: the kernel dropped it`,
      advice: `handle ${s.signame} in ${to.comm || 'the program'}, or run it under an init that forwards signals (tini, dumb-init, or \`shareProcessNamespace: true\` so that pause is PID 1); a shell entrypoint should \`exec\` the program`,
    }
  }
  if (s.result === 'ignored') {
    return {
      cause: `it ignores ${s.signame} (SIG_IGN, set by the program or inherited across exec)`,
      advice: `do not ignore ${s.signame}: look for \`trap '' TERM\`, signal(${s.signame}, SIG_IGN) or a parent that ignores it before exec`,
    }
  }
  return {
    cause: s.result === 'pending' ? `it was already pending: blocked, never taken` : `it was delivered, but no handler ran and the process did not exit: blocked, or read from a signalfd and not acted on`,
    advice: `unblock ${s.signame} or act on it in ${to.comm || 'the program'}, and exit within the grace period`,
  }
}

export class StopRule implements Rule {
  /** per target host PID: the stop signal(s) not yet followed by its exit or a SIGKILL */
  private pending = new Map<number, Pending>()
  /** PIDs already reported as a PID 1 that drops a stop signal, with the signal */
  private dropped = new Set<string>()

  constructor(private readonly ctx: FindingContext) {}

  event(e: TraceEvent): void {
    if (e.kind === 'signal') this.signal(e)
    else if (e.kind === 'deliver') {
      const p = this.pending.get(e.proc.pid)
      if (p && !p.handled && e.sig === p.first.sig && e.handler === 'handler') p.handled = e
    } else if (e.kind === 'exit' && e.groupDead) this.pending.delete(e.proc.pid)
  }

  private signal(e: SignalEvent): void {
    const to = e.to
    if (!to || to.sandbox === null || to.runtime || e.via === 'kernel' || e.targetDead) return
    if (e.sig === SIGKILL) {
      const p = this.pending.get(to.pid)
      if (p) {
        this.pending.delete(to.pid)
        this.exhausted(p, e)
      }
      return
    }
    if (!isStopSignal(e) || e.result === undefined) return
    if (e.result === 'ignored' && to.innerPid === 1) this.droppedByPid1(e, to)
    const p = this.pending.get(to.pid)
    if (p) {
      p.count++
      p.signals.push(e)
    } else this.pending.set(to.pid, {first: e, count: 1, signals: [e]})
  }

  private droppedByPid1(e: SignalEvent, to: ProcRef): void {
    const key = `${to.pid}:${e.sig}`
    if (this.dropped.has(key)) return
    this.dropped.add(key)
    const where = place(this.ctx.sandbox(to.sandbox), to.sandbox as string, to.container)
    this.ctx.emit({
      kind: 'sigterm-ignored-by-pid1', severity: 'warning', sandbox: to.sandbox, t: e.t, until: e.t,
      summary: `${where}: ${e.signame} from ${who(e.from)} at ${at(e.t)} was dropped by the kernel: ${who(to)} is PID 1 of its namespace and has no handler for it, so it keeps running (a stop through the runtime waits out the grace period, then SIGKILLs it).`,
      evidence: [e],
      advice: `handle ${e.signame} in ${to.comm || 'the program'}, or run it under an init that forwards signals (tini, dumb-init, or \`shareProcessNamespace: true\` so that pause is PID 1)`,
    })
  }

  private exhausted(p: Pending, kill: SignalEvent): void {
    const to = p.first.to as ProcRef
    const {cause, advice} = whyNot(p)
    const where = place(this.ctx.sandbox(to.sandbox), to.sandbox as string, to.container ?? kill.to?.container)
    const sent = p.count > 1 ? ` (sent ${p.count} times)` : ''
    this.ctx.emit({
      kind: 'grace-period-exhausted', severity: 'problem', sandbox: to.sandbox, t: p.first.t, until: kill.t,
      summary: `${where}: ${p.first.signame} from ${who(p.first.from)} at ${at(p.first.t)}${sent} did not end ${who(to)} (${cause}); SIGKILL from ${who(kill.from)} came ${duration(kill.t - p.first.t)} later.`,
      evidence: [...p.signals, ...(p.handled ? [p.handled] : []), kill],
      advice,
    })
  }
}
