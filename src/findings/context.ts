// What every rule of one trace (one node) shares: the sandboxes seen so far, the trace's time,
// and the one way to state a finding. A rule reads events and calls `emit`; it never prints.
import type {FindingRecord, FindingSeverity, SandboxRecord, TraceEvent} from '../events/types.js'

/** A finding as a rule states it, with the events behind it (filters are judged on them). */
export interface Found {
  record: FindingRecord
  events: TraceEvent[]
}

export interface Statement {
  kind: string
  severity: FindingSeverity
  sandbox: string | null
  t: number
  until: number
  summary: string
  evidence: TraceEvent[]
  advice: string | null
}

export class FindingContext {
  readonly sandboxes = new Map<string, SandboxRecord>()
  /** the latest time seen in this trace (ns since its start) */
  now = 0

  constructor(private readonly out: (f: Found) => void, private readonly host?: string) {}

  sandbox(id: string | null | undefined): SandboxRecord | undefined {
    return id ? this.sandboxes.get(id) : undefined
  }

  emit(s: Statement): void {
    const sb = this.sandbox(s.sandbox)
    const evidence = [...new Set(s.evidence.map((e) => e.t))].sort((a, b) => a - b)
    const record: FindingRecord = {
      type: 'finding', kind: s.kind, severity: s.severity, sandbox: s.sandbox,
      pod: sb?.pod ? {name: sb.pod.name, namespace: sb.pod.namespace} : null,
      t: s.t, until: Math.max(s.t, s.until), summary: s.summary, evidence, advice: s.advice,
    }
    if (this.host !== undefined) record.host = this.host
    this.out({record, events: s.evidence})
  }
}

/** One rule: fed every event in time order, told when time passes and when the trace ends. */
export interface Rule {
  event(e: TraceEvent): void
  /** a sandbox record, after the context holds it (`earlier`: the record of its id before, if any) */
  sandbox?(r: SandboxRecord, earlier: SandboxRecord | undefined): void
  /** the trace's time moved on (before the event of that time is given to `event`) */
  advance?(now: number): void
  /** events were lost here: what a rule waits for may have been among them */
  lost?(t: number): void
  /** the trace ended at `now` */
  end?(now: number): void
}
