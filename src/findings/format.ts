// A finding as text (explain, record --explain, the lines of watch): its time, severity, kind and
// place on one line, the sentence, then what to change.
import type {FindingRecord} from '../events/types.js'
import {at} from './words.js'

/** `+3.790000s problem  grace-period-exhausted  shop/web` then the summary and advice, indented. */
export function formatFinding(f: FindingRecord): string {
  const host = f.host !== undefined ? ` ${f.host}` : ''
  const lines = [`${at(f.t)}${host} ${f.severity.padEnd(7)} ${f.kind}`, `  ${f.summary}`]
  if (f.advice) lines.push(`  → ${f.advice}`)
  return lines.join('\n')
}

/** One line (the lines of `watch`, where every record is one line). */
export function findingLine(f: FindingRecord): string {
  const host = f.host !== undefined ? ` ${f.host}` : ''
  return `${at(f.t)}${host} finding  ${f.severity} ${f.kind}: ${f.summary}${f.advice ? ` → ${f.advice}` : ''}`
}

const SEVERITY_ORDER = {problem: 0, warning: 1, info: 2} as const

/** Time order, then the most severe first, then by kind: the same trace always gives the same list. */
export function compareFindings(a: FindingRecord, b: FindingRecord): number {
  return a.t - b.t || SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.kind.localeCompare(b.kind) || a.summary.localeCompare(b.summary)
}
