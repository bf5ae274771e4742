// What an exercise expects the kernel to do, as exact patterns over trace events, and the check of
// a trace against them. Pure: fed events, it answers which expectations were seen, by which event.
import type {TraceEvent} from '../events/types.js'

/** A pattern: every field given must equal the event's field (objects recursively, arrays exactly). */
export type Pattern = {[field: string]: PatternValue}
export type PatternValue = string | number | boolean | null | PatternValue[] | Pattern

export interface Expectation {
  /** what the kernel (or runtime) should do, in words */
  text: string
  pattern: Pattern
  /** true: no event may match (checked on the whole trace) */
  absent?: boolean
  /** the step that set it (1-based) */
  step: number
  /** only events from this trace time on count (the start of its step, in ns) */
  sinceT?: number
  /** only events up to this trace time count (an absent one held for its own step only, in ns) */
  untilT?: number
}

/** A fact read from /proc at one moment of the exercise. */
export interface Fact {
  text: string
  ok: boolean
  /** what was read */
  detail?: string
  step: number
}

export interface CheckResult {
  expectation: Expectation
  ok: boolean
  /** the first matching event (for an absent expectation: the one that should not have been there) */
  event?: TraceEvent
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function equalExactly(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equalExactly(x, b[i]))
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined)
    const kb = Object.keys(b).filter((k) => b[k] !== undefined)
    return ka.length === kb.length && ka.every((k) => equalExactly(a[k], b[k]))
  }
  return false
}

/** Whether `value` has every field of `pattern` with exactly that value (nested patterns match nested objects). */
export function matchesPattern(value: unknown, pattern: PatternValue): boolean {
  if (isPlainObject(pattern)) {
    if (!isPlainObject(value)) return false
    return Object.entries(pattern).every(([k, p]) => matchesPattern(value[k], p))
  }
  return equalExactly(value, pattern)
}

export function checkExpectation(x: Expectation, events: readonly TraceEvent[]): CheckResult {
  const since = x.sinceT ?? 0
  const until = x.untilT ?? Infinity
  const event = events.find((e) => e.t >= since && e.t <= until && matchesPattern(e, x.pattern))
  return {expectation: x, ok: x.absent ? event === undefined : event !== undefined, event}
}

export function checkAll(expectations: readonly Expectation[], events: readonly TraceEvent[]): CheckResult[] {
  return expectations.map((x) => checkExpectation(x, events))
}

/** The pattern on one line, as a reader would compare it with a trace record. */
export function formatPattern(p: Pattern): string {
  return JSON.stringify(p)
}

export interface Verdict {
  ok: boolean
  expected: number
  seen: number
  /** expectations not met (an absent one that was seen counts here) */
  missing: CheckResult[]
  factsFailed: Fact[]
}

export function verdict(results: readonly CheckResult[], facts: readonly Fact[]): Verdict {
  const missing = results.filter((r) => !r.ok)
  const factsFailed = facts.filter((f) => !f.ok)
  return {ok: missing.length === 0 && factsFailed.length === 0, expected: results.length + facts.length, seen: results.length - missing.length + facts.length - factsFailed.length, missing, factsFailed}
}
