// `crash-loop`: the same container's first process exiting again and again (the kubelet restarts
// it; podman or a script may too). Counted per sandbox and command, on the exits of a process
// that is PID 1 of its namespace or that the runtime names as the container's: a container that
// lives less than the runtime's next answer is not named on every run, so its name (where one
// run had it) is what the finding shows, not what it is counted by.
import type {ExitEvent, TraceEvent} from '../events/types.js'
import type {FindingContext, Rule} from './context.js'
import {signalName} from '../events/names.js'
import {at, duration, place, who} from './words.js'

/** Exits that make a loop, and the longest gap between two of them that still counts as one. */
export const CRASH_LOOP_EXITS = 3
export const CRASH_LOOP_GAP_NS = 10 * 60 * 1_000_000_000

function status(e: ExitEvent): string {
  return e.signal !== undefined ? `killed by ${signalName(e.signal)}` : `code ${e.code}`
}

export class CrashLoopRule implements Rule {
  private exits = new Map<string, ExitEvent[]>()
  private reported = new Set<string>()

  constructor(private readonly ctx: FindingContext) {}

  event(e: TraceEvent): void {
    if (e.kind !== 'exit' || !e.groupDead) return
    const p = e.proc
    if (!p.sandbox || p.role !== 'container' || p.runtime || (p.innerPid !== 1 && p.container === undefined)) return
    // a named container's processes: only its first (PID 1, or its only one) stands for it
    if (p.container !== undefined && p.innerPid !== 1 && p.innerPid !== null) return
    const key = `${p.sandbox}\0${p.comm}`
    if (this.reported.has(key)) return
    const list = (this.exits.get(key) ?? []).filter((x) => e.t - x.t <= CRASH_LOOP_GAP_NS)
    list.push(e)
    this.exits.set(key, list)
    if (list.length >= CRASH_LOOP_EXITS) {
      this.reported.add(key)
      this.exits.delete(key)
      this.report(list)
    }
  }

  private report(list: ExitEvent[]): void {
    const last = list[list.length - 1]
    const p = last.proc
    const where = place(this.ctx.sandbox(p.sandbox), p.sandbox as string, [...list].reverse().find((x) => x.proc.container !== undefined)?.proc.container)
    const counts = new Map<string, number>()
    for (const x of list) counts.set(status(x), (counts.get(status(x)) ?? 0) + 1)
    const how = [...counts].map(([s, n]) => (counts.size === 1 ? `each time with ${s}` : `${s} ×${n}`)).join(', ')
    const span = last.t - list[0].t
    this.ctx.emit({
      kind: 'crash-loop', severity: 'problem', sandbox: p.sandbox, t: list[0].t, until: last.t,
      summary: `${where}: ${p.comm || '?'} exited ${list.length} times in ${duration(span)} (every ${duration(span / (list.length - 1))} on average, the last ${who(p)} at ${at(last.t)}), ${how}.`,
      evidence: list,
      advice: `read the container's logs for why it exits (${status(last)}); the kubelet restarts it with a back-off that grows to 5 minutes (CrashLoopBackOff)`,
    })
  }
}
