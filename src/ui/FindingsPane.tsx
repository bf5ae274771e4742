// The findings of the trace (src/findings/, decided as the events come): the latest one per line
// above the status line, and `f`: the pane with every finding kept, newest first, its sentence
// and advice wrapped to the width. The severity is a word (colour only repeats it).
import React from 'react'
import {Box} from 'ink'
import type {FindingRecord, FindingSeverity} from '../events/types.js'
import {formatTime} from './text-line.js'
import {fit, textWidth, wrap} from './text-fit.js'
import {Line, type Segment} from './Line.js'

export const SEVERITY_COLOR: Record<FindingSeverity, string> = {problem: 'red', warning: 'yellow', info: 'cyan'}

/** The lines the latest findings take above the status line on a terminal `rows` high. */
export function findingStripRows(count: number, rows: number): number {
  return Math.min(count, rows >= 24 ? 3 : rows >= 14 ? 2 : 1)
}

/** One finding on one line: `warning sigterm-ignored-by-pid1 pt-sigterm: SIGTERM from …`, cut to `columns`. */
export function findingSegments(f: FindingRecord, columns: number): Segment[] {
  const sev = f.severity.padEnd(7)
  const rest = ` ${f.kind} ${f.summary}`
  return [
    {text: fit(sev, Math.min(columns, textWidth(sev))), color: SEVERITY_COLOR[f.severity], bold: f.severity === 'problem'},
    {text: fit(rest, Math.max(0, columns - textWidth(sev)))},
  ]
}

/** The latest `rows` findings, oldest of them first (the newest just above the status line). */
export function FindingStrip({findings, columns, rows}: {findings: readonly FindingRecord[]; columns: number; rows: number}): React.JSX.Element {
  const shown = findings.slice(Math.max(0, findings.length - rows))
  return (
    <Box flexDirection="column">
      {shown.map((f, i) => (
        <Line key={i} segments={findingSegments(f, columns)} />
      ))}
    </Box>
  )
}

/** A finding's lines in the pane: its head, the sentence, the advice (→), wrapped to `columns`. */
export function findingBlock(f: FindingRecord, columns: number): Segment[][] {
  const host = f.host !== undefined ? ` ${f.host}` : ''
  const out: Segment[][] = [
    [
      {text: fit(f.severity, Math.min(columns, textWidth(f.severity))), color: SEVERITY_COLOR[f.severity], bold: true},
      {text: fit(` ${f.kind} at ${formatTime(f.t)}${host}`, Math.max(0, columns - textWidth(f.severity))), bold: true},
    ],
  ]
  for (const l of wrap(f.summary, columns - 2)) out.push([{text: fit(`  ${l}`, columns)}])
  if (f.advice) {
    const [first, ...rest] = wrap(f.advice, columns - 4)
    out.push([{text: fit(`  → ${first}`, columns), dim: true}])
    for (const l of rest) out.push([{text: fit(`    ${l}`, columns), dim: true}])
  }
  return out
}

/** The pane's lines, `height` exactly: the newest findings first, those that do not fit counted. */
export function findingsPaneLines(findings: readonly FindingRecord[], columns: number, height: number): Segment[][] {
  const n = findings.length
  const title = n === 0 ? 'findings: none yet (f or esc closes)' : `findings: ${n}, the newest first (f or esc closes)`
  const lines: Segment[][] = [[{text: fit(title, columns), bold: true}]]
  if (n === 0) lines.push([{text: fit('  what the events prove (an ignored SIGTERM, zombies, a grace period run out…) shows here', columns), dim: true}])
  for (let i = n - 1; i >= 0; i--) {
    const block = findingBlock(findings[i], columns)
    // the last line is kept for the count of those left out, unless this is the last finding
    const room = height - lines.length - (i > 0 ? 1 : 0)
    if (block.length <= room) {
      lines.push(...block)
      continue
    }
    // the newest is shown as far as it fits; the rest are counted
    if (i === n - 1) lines.push(...block.slice(0, Math.max(0, room)))
    const left = i + (i === n - 1 ? 0 : 1)
    if (left > 0 && lines.length < height) lines.push([{text: fit(`  … ${left} older ${left === 1 ? 'finding' : 'findings'} not shown`, columns), dim: true}])
    break
  }
  while (lines.length < height) lines.push([])
  return lines.slice(0, height)
}

export function FindingsPane({findings, columns, height}: {findings: readonly FindingRecord[]; columns: number; height: number}): React.JSX.Element {
  return (
    <Box flexDirection="column">
      {findingsPaneLines(findings, columns, height).map((segments, i) => (
        <Line key={i} segments={segments} />
      ))}
    </Box>
  )
}
