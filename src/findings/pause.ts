// The infra process: `pause-died` (who ended it, with what, and what became of the pod's other
// processes: SIGKILLed by the kernel with it when they shared its PID namespace, or left running
// in a dead sandbox), `sandbox-recreated` (a new sandbox of the same pod: its record's `replaces`)
// and `signal-to-pause-ignored` (a signal pause has no handler for, dropped).
import type {ExitEvent, ProcRef, SandboxRecord, SignalEvent, TraceEvent} from '../events/types.js'
import type {FindingContext, Rule} from './context.js'
import {signalName} from '../events/names.js'
import {at, duration, endsByDefault, place, plural, who} from './words.js'

/** How long after the pause's exit the kernel's SIGKILLs to its namespace are gathered (they take microseconds). */
export const PAUSE_SETTLE_NS = 500_000_000

interface Death {
  exit: ExitEvent
  sandbox: string
  killer?: SignalEvent
  /** the kernel's SIGKILLs from the dying pause to the rest of its PID namespace */
  zapped: SignalEvent[]
  /** the pod's processes seen alive when it died */
  alive: ProcRef[]
}

function ending(e: ExitEvent): string {
  return e.signal !== undefined ? `killed by ${signalName(e.signal)}` : `exit ${e.code}`
}

export class PauseRule implements Rule {
  /** per sandbox: its processes seen in events and not exited (pause excluded) */
  private alive = new Map<string, Map<number, ProcRef>>()
  /** the last signal sent to each pause (by PID) that the kernel delivered */
  private lastSignal = new Map<number, SignalEvent>()
  private deaths: Death[] = []
  /** when each sandbox's pause died: a successor says how long after */
  private diedAt = new Map<string, ExitEvent>()
  private reportedRecreated = new Set<string>()
  private droppedKeys = new Set<string>()

  constructor(private readonly ctx: FindingContext) {}

  event(e: TraceEvent): void {
    for (const p of aliveIn(e)) this.seen(p)
    if (e.kind === 'signal') this.signal(e)
    else if (e.kind === 'exit' && e.groupDead) {
      if (e.proc.role === 'pause' && e.proc.sandbox) {
        const sb = e.proc.sandbox
        const alive = [...(this.alive.get(sb)?.values() ?? [])].filter((p) => p.pid !== e.proc.pid)
        this.deaths.push({exit: e, sandbox: sb, killer: this.lastSignal.get(e.proc.pid), zapped: [], alive})
        this.diedAt.set(sb, e)
        this.lastSignal.delete(e.proc.pid)
      }
      if (e.proc.sandbox) this.alive.get(e.proc.sandbox)?.delete(e.proc.pid)
    }
  }

  private seen(p: ProcRef): void {
    if (!p.sandbox || p.role === 'pause' || p.runtime) return
    let m = this.alive.get(p.sandbox)
    if (!m) this.alive.set(p.sandbox, (m = new Map()))
    m.set(p.pid, p)
  }

  private signal(e: SignalEvent): void {
    const to = e.to
    if (!to) return
    // the dying pause's SIGKILLs to the living (a zombie's has no effect)
    if (e.via === 'kernel' && e.sig === 9 && !e.targetDead) {
      const d = this.deaths.find((x) => x.exit.proc.pid === e.from.pid)
      if (d) d.zapped.push(e)
    }
    if (to.role !== 'pause' || e.targetDead) return
    if (e.result === 'delivered' || e.sig === 9) this.lastSignal.set(to.pid, e)
    if (e.result === 'ignored' && e.via !== 'kernel' && e.sig !== 0) this.dropped(e, to)
  }

  private dropped(e: SignalEvent, to: ProcRef): void {
    const key = `${to.pid}:${e.sig}`
    if (this.droppedKeys.has(key)) return
    this.droppedKeys.add(key)
    const where = place(this.ctx.sandbox(to.sandbox), to.sandbox as string)
    const fatal = endsByDefault(e.sig)
    this.ctx.emit({
      kind: 'signal-to-pause-ignored', severity: fatal ? 'warning' : 'info', sandbox: to.sandbox, t: e.t, until: e.t,
      summary: fatal
        ? `${where}: ${e.signame} from ${who(e.from)} at ${at(e.t)} to its pause ${who(to)} was dropped: pause has no handler for it and, as PID 1 of its namespace, is not ended by it; whoever sent it expected an effect it did not have.`
        : `${where}: ${e.signame} from ${who(e.from)} at ${at(e.t)} to its pause ${who(to)} was ignored (its default action is to ignore it).`,
      evidence: [e],
      advice: fatal ? `pause acts only on SIGINT and SIGTERM (it exits) and SIGCHLD (it reaps); stop a pod through its runtime (kubectl delete, crictl stopp), not with signals to pause` : null,
    })
  }

  sandbox(r: SandboxRecord): void {
    if (!r.replaces || this.reportedRecreated.has(r.id)) return
    this.reportedRecreated.add(r.id)
    const old = this.diedAt.get(r.replaces)
    const now = this.ctx.now
    const attempt = r.pod?.attempt
    this.ctx.emit({
      kind: 'sandbox-recreated', severity: 'warning', sandbox: r.id, t: old ? old.t : now, until: now,
      summary: `${place(r, r.id)}: a new sandbox${attempt !== undefined && attempt !== null ? ` (attempt ${attempt})` : ''} ${r.id} replaces ${r.replaces}${old ? `, ${duration(now - old.t)} after its pause ${who(old.proc)} ended (${ending(old)})` : ''}; the pod's containers start again in it.`,
      evidence: old ? [old] : [],
      advice: old ? 'the earlier sandbox died with its pause: see that pause-died finding for who ended it' : 'the earlier sandbox ended before or outside this trace: its pause died or the runtime stopped it',
    })
  }

  advance(now: number): void {
    while (this.deaths.length > 0 && now - this.deaths[0].exit.t >= PAUSE_SETTLE_NS) this.report(this.deaths.shift() as Death, now)
  }

  end(now: number): void {
    while (this.deaths.length > 0) this.report(this.deaths.shift() as Death, now)
  }

  private report(d: Death, now: number): void {
    const pause = d.exit.proc
    const where = place(this.ctx.sandbox(d.sandbox), d.sandbox)
    const by = d.killer ? ` after ${d.killer.signame} from ${who(d.killer.from)} at ${at(d.killer.t)}` : ''
    const zapped = new Set(d.zapped.map((z) => z.to?.pid))
    // what lived on: seen alive at its death, not SIGKILLed by the kernel, not exited since
    const survivors = d.alive.filter((p) => !zapped.has(p.pid) && this.alive.get(d.sandbox)?.has(p.pid))
    const orderly = d.killer?.from.runtime === true && survivors.length === 0 && d.zapped.length === 0
    let after: string
    if (d.zapped.length > 0) {
      const names = d.zapped.slice(0, 3).map((z) => who(z.to as ProcRef)).join(', ') + (d.zapped.length > 3 ? ', …' : '')
      after = `the kernel then SIGKILLed ${plural(d.zapped.length, 'other process', 'other processes')} of its PID namespace (${names}): the pod went down with it`
    } else if (survivors.length > 0) {
      const names = survivors.slice(0, 3).map(who).join(', ') + (survivors.length > 3 ? ', …' : '')
      after = `${plural(survivors.length, 'process', 'processes')} of the pod ${survivors.length === 1 ? 'lives' : 'live'} on in the dead sandbox (${names}) until the kubelet notices (SandboxChanged), stops them and re-creates the sandbox`
    } else after = 'no other process of the pod was seen running'
    this.ctx.emit({
      kind: 'pause-died', severity: orderly ? 'info' : 'problem', sandbox: d.sandbox, t: d.killer?.t ?? d.exit.t, until: Math.max(d.exit.t, ...d.zapped.map((z) => z.t), Math.min(now, d.exit.t + PAUSE_SETTLE_NS)),
      summary: orderly
        ? `${where}: the runtime stopped the sandbox: its pause ${who(pause)} ended (${ending(d.exit)}) at ${at(d.exit.t)}${by}, its containers already gone.`
        : `${where}: its pause ${who(pause)} died at ${at(d.exit.t)} (${ending(d.exit)})${by}; ${after}.`,
      evidence: [...(d.killer ? [d.killer] : []), d.exit, ...d.zapped],
      advice: orderly ? null : `find why ${d.killer ? who(d.killer.from) : 'it'} ended the infra process: nothing on a node should signal pause; the pod's containers restart in a new sandbox`,
    })
  }
}

/** The processes an event names (the ones it shows alive at that moment). */
function aliveIn(e: TraceEvent): ProcRef[] {
  switch (e.kind) {
    case 'signal': return e.to && !e.targetDead ? [e.from, e.to] : [e.from]
    case 'deliver': case 'exec': return [e.proc]
    case 'fork': return [e.parent, e.child]
    case 'reap': return [e.reaper]
    case 'flood': return [e.from, e.to]
    default: return []
  }
}
