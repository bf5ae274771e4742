// `?`: what the marks mean and what the keys do.
import React from 'react'
import {Box} from 'ink'
import {LEGEND, TONE_COLOR} from './marks.js'
import {fit} from './text-fit.js'
import {Line} from './Line.js'

export const KEYS: Array<[string, string]> = [
  ['q, Ctrl-C', 'quit (the trace stops cleanly, exit 0)'],
  ['space', 'pause / resume the view (events keep being counted and recorded)'],
  ['↑ ↓  k j', 'choose a sandbox'],
  ['enter', 'details of the chosen sandbox; ← → (h l) older / newer event'],
  ['/', 'filter sandboxes by text (pod, namespace, id, process, PID); enter keeps, esc clears'],
  ['f', 'findings: every one with its advice, newest first (the latest are shown above this line)'],
  ['?  esc', 'this help / close'],
]

export function HelpPane({columns, height}: {columns: number; height: number}): React.JSX.Element {
  const lines: React.JSX.Element[] = [<Line key="h" segments={[{text: fit('marks (time runs left to right; one lane per process, the pause first)', columns), bold: true}]} />]
  for (const [ch, tone, text] of LEGEND) lines.push(<Line key={`m${ch}`} segments={[{text: '  '}, {text: ch, color: TONE_COLOR[tone], bold: true}, {text: fit(`  ${text}`, Math.max(0, columns - 3))}]} />)
  lines.push(<Line key="k" segments={[{text: fit('keys', columns), bold: true}]} />)
  for (const [k, text] of KEYS) lines.push(<Line key={`k${k}`} segments={[{text: fit(`  ${k.padEnd(10)} ${text}`, columns)}]} />)
  while (lines.length < height) lines.push(<Line key={`pad${lines.length}`} segments={[]} />)
  return <Box flexDirection="column">{lines.slice(0, height)}</Box>
}
