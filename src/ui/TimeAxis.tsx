// The time axis over every track (0 s at the left, the window's end at the right) and, in the
// summary column, the trace-wide counters that are not zero: ignored and pending signals, zombies
// now, reaps, flooded signals.
import React from 'react'
import type {ViewSnapshot} from './view-state.js'
import {axisText, fit, type Widths} from './text-fit.js'
import {duration} from './words.js'
import {Line} from './Line.js'

export interface TimeAxisProps {
  snapshot: ViewSnapshot
  widths: Widths
}

export function TimeAxis({snapshot: s, widths}: TimeAxisProps): React.JSX.Element {
  const c = s.counters
  const parts: Array<[string, number]> = [['ignored', c.signals.ignored], ['pending', c.signals.pending], ['zombies', c.zombies], ['reaps', c.reaps], ['flooded', c.flooded]]
  const totals = parts.filter(([, n]) => n > 0).map(([w, n]) => `${w} ${n}`).join(' · ')
  return (
    <Line
      segments={[
        {text: fit(`time (${duration(s.window.to - s.window.from)})`, widths.label), dim: true},
        {text: ' '},
        {text: axisText(s.window, widths.track), dim: true},
        ...(widths.summary > 0 ? [{text: ' '}, {text: fit(totals, widths.summary - 1)}] : []),
      ]}
    />
  )
}
