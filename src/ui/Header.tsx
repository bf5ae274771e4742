// The top line: node, bpftrace, filters, and the event and lost counters with the trace's state.
import React from 'react'
import type {ViewSnapshot} from './view-state.js'
import {fit, textWidth} from './text-fit.js'
import {filtersText} from './words.js'
import {Line} from './Line.js'

export interface HeaderProps {
  snapshot: ViewSnapshot
  columns: number
}

export function stateText(s: ViewSnapshot): string {
  if (!s.header) return 'attaching probes…'
  if (s.footer) return `stopped: ${s.footer.reason}`
  if (s.ui.paused) return `PAUSED, ${s.queued} waiting`
  return 'live'
}

export function Header({snapshot: s, columns}: HeaderProps): React.JSX.Element {
  const h = s.header
  const left = `pausetrace · ${h?.host ?? '?'} · bpftrace ${h?.bpftrace ?? '?'} · ${filtersText(h?.filters)}`
  const state = stateText(s)
  const events = `${s.counters.events} event${s.counters.events === 1 ? '' : 's'}`
  const right = ` ${events} · ${s.counters.lost} lost · ${state}`
  const lost = s.counters.lost > 0
  // Narrow: the counters and the state matter more than the node's name.
  if (textWidth(right) + 12 > columns) return <Line segments={[{text: fit(right.trimStart(), columns), color: lost ? 'red' : undefined}]} />
  return (
    <Line
      segments={[
        {text: fit(left, columns - textWidth(right)), bold: true},
        {text: ` ${events} · `},
        {text: `${s.counters.lost} lost`, color: lost ? 'red' : undefined, bold: lost},
        {text: ' · '},
        {text: state, color: s.ui.paused ? 'yellow' : s.footer ? 'gray' : 'green'},
      ]}
    />
  )
}
