// One sandbox: its title line, then one lane per process shown (the pause first), time running
// left to right, and each lane's summary on the right when the terminal is wide enough.
import React from 'react'
import {Box} from 'ink'
import type {GapItem} from '../model/timeline.js'
import {TONE_COLOR} from './marks.js'
import {laneSummary, sandboxTitle} from './summary.js'
import {fit, type Widths} from './text-fit.js'
import {trackCells} from './track.js'
import {laneLabel} from './words.js'
import {Line, type Segment} from './Line.js'
import type {Block} from './screen.js'

export interface SandboxTimelineProps {
  block: Block
  widths: Widths
  columns: number
  window: {from: number; to: number}
  gaps: GapItem[]
  now: number
}

export function SandboxTimeline({block, widths, columns, window, gaps, now}: SandboxTimelineProps): React.JSX.Element {
  const {sb, lanes, hidden, selected} = block
  const title = `${selected ? '▶' : ' '} ${sandboxTitle(sb, hidden)}`
  return (
    <Box flexDirection="column">
      <Line segments={[{text: fit(title, columns), bold: selected, color: selected ? 'cyan' : undefined}]} />
      {lanes.map((lane) => {
        // narrow: no indent, the label needs every cell
        const indent = widths.label < 16 || widths.summary === 0 ? '' : '  '
        const segs: Segment[] = [{text: fit(`${indent}${laneLabel(lane)}`, widths.label), bold: lane.role === 'pause'}, {text: ' '}]
        // consecutive cells of one tone become one segment
        for (const cell of trackCells(lane, gaps, window, widths.track, now)) {
          const last = segs[segs.length - 1]
          const color = TONE_COLOR[cell.tone]
          const dim = cell.tone === 'none' || cell.tone === 'gap' || cell.tone === 'fork'
          if (last && last.color === color && last.dim === dim && segs.length > 2) last.text += cell.ch
          else segs.push({text: cell.ch, color, dim, bold: !dim})
        }
        if (widths.summary > 0) segs.push({text: ' '}, {text: fit(laneSummary(lane, now, gaps).join(' · '), widths.summary - 1)})
        return <Line key={lane.pid} segments={segs} />
      })}
    </Box>
  )
}
