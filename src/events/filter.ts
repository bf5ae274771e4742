// The filters of every command that reads events (--pid, --signal, --pod/--namespace/--sandbox, --all), one type for
// live traces and trace files, and the user-side predicates on events (the kernel applies the same
// ones where it can).
import type {ProcRef, SandboxRecord, TraceEvent} from './types.js'

export interface Filters {
  /** live: trace every process, not only those in sandboxes (the scope the kernel applies) */
  all: boolean
  /** host PIDs */
  pids: number[]
  /** signal numbers */
  signals: number[]
  /** sandbox selectors, applied to each event's processes (any of the values of a kind matches) */
  pods?: string[]
  namespaces?: string[]
  sandboxes?: string[]
  /**
   * Reading trace files: "file" (the default) keeps what a file holds (its recording's scope
   * already chose); "sandboxes" only events with at least one process in a sandbox.
   */
  scope?: 'file' | 'sandboxes'
}

export function procsOf(e: TraceEvent): ProcRef[] {
  switch (e.kind) {
    case 'signal':
      return e.to ? [e.from, e.to] : [e.from]
    case 'flood':
      return [e.from, e.to]
    case 'reap':
      return [e.reaper, e.child]
    case 'fork':
      return [e.parent, e.child]
    default:
      return [e.proc]
  }
}

/** True when the event involves one of the PIDs (host PIDs) and one of the signals (when given). */
export function eventMatches(e: TraceEvent, pids: ReadonlySet<number>, signals: ReadonlySet<number>): boolean {
  if (pids.size > 0 && !procsOf(e).some((p) => pids.has(p.pid))) return false
  if (signals.size > 0) {
    if (e.kind !== 'signal' && e.kind !== 'deliver' && e.kind !== 'flood') return false
    if (!signals.has(e.sig)) return false
  }
  return true
}

export type SandboxSelector = Pick<Filters, 'pods' | 'namespaces' | 'sandboxes'>

export function hasSandboxSelector(sel: SandboxSelector): boolean {
  return Boolean(sel.pods?.length || sel.namespaces?.length || sel.sandboxes?.length)
}

/** Whether a sandbox record is selected by --pod / --namespace / --sandbox (each given kind must match). */
export function sandboxSelected(sel: SandboxSelector, s: Pick<SandboxRecord, 'id' | 'pod'> | undefined): boolean {
  if (!hasSandboxSelector(sel)) return true
  if (!s) return false
  if (sel.sandboxes?.length && !sel.sandboxes.includes(s.id)) return false
  if (sel.pods?.length && !(s.pod && sel.pods.includes(s.pod.name))) return false
  if (sel.namespaces?.length && !(s.pod?.namespace && sel.namespaces.includes(s.pod.namespace))) return false
  return true
}

/** Whether one of the event's processes is in a sandbox (any). */
export function eventInAnySandbox(e: TraceEvent): boolean {
  return procsOf(e).some((p) => p.sandbox !== null && p.sandbox !== undefined)
}

/** An event is kept when one of its processes is in a selected sandbox. */
export function eventInSandboxes(e: TraceEvent, sel: SandboxSelector, lookup: (id: string) => Pick<SandboxRecord, 'id' | 'pod'> | undefined): boolean {
  if (!hasSandboxSelector(sel)) return true
  return procsOf(e).some((p) => p.sandbox !== null && sandboxSelected(sel, lookup(p.sandbox)))
}
