// The whole live view for a terminal `columns` × `rows`: header, time axis, one timeline per
// sandbox that fits (the selected one filled first), the detail, help or findings pane, the
// latest findings, the status line.
import React from 'react'
import {Box} from 'ink'
import type {ViewSnapshot} from './view-state.js'
import {detailLines} from './chain.js'
import {fit} from './text-fit.js'
import {DetailPane} from './DetailPane.js'
import {FindingStrip, FindingsPane, findingStripRows} from './FindingsPane.js'
import {Header} from './Header.js'
import {HelpPane} from './HelpPane.js'
import {Line} from './Line.js'
import {SandboxTimeline} from './SandboxTimeline.js'
import {MIN_COLUMNS, MIN_ROWS, planScreen} from './screen.js'
import {StatusLine} from './StatusLine.js'
import {TimeAxis} from './TimeAxis.js'

export interface WatchViewProps {
  snapshot: ViewSnapshot
  columns: number
  rows: number
}

function emptyText(s: ViewSnapshot): string {
  if (!s.header) return 'attaching probes: bpftrace is starting…'
  if (s.ui.filter && s.totalSandboxes > 0) return `no sandbox matches "${s.ui.filter}" (/ then esc clears the filter)`
  return s.notice ?? 'no sandbox events yet: signals, exits and reaps of pod sandboxes will show here'
}

export function WatchView({snapshot: s, columns, rows}: WatchViewProps): React.JSX.Element {
  if (columns < MIN_COLUMNS || rows < MIN_ROWS) {
    return <Line segments={[{text: fit(`pausetrace: ${columns}×${rows} is too small (${MIN_COLUMNS}×${MIN_ROWS} at least); q quits`, Math.max(1, columns))}]} />
  }
  const pane = s.ui.help || s.ui.findings
  const details = s.ui.details && !pane ? detailLines(s.selected, s.gaps, s.ui.entry, s.now, columns) : []
  const plan = planScreen(s, columns, rows, details.length, pane ? 0 : findingStripRows(s.findings.length, rows))
  const body: React.JSX.Element[] = []
  let used = 0
  if (s.ui.help) {
    body.push(<HelpPane key="help" columns={columns} height={plan.body + plan.details} />)
    used = plan.body + plan.details
  } else if (s.ui.findings) {
    body.push(<FindingsPane key="findings" findings={s.findings} columns={columns} height={plan.body + plan.details} />)
    used = plan.body + plan.details
  } else {
    for (const block of plan.blocks) {
      body.push(<SandboxTimeline key={block.sb.id} block={block} widths={plan.widths} columns={columns} window={s.window} gaps={s.gaps} now={s.now} />)
      used += 1 + block.lanes.length
    }
    if (plan.blocks.length === 0 && plan.body > 0) {
      body.push(<Line key="empty" segments={[{text: fit(`  ${emptyText(s)}`, columns), dim: true}]} />)
      used++
    }
    for (; used < plan.body; used++) body.push(<Line key={`pad${used}`} segments={[]} />)
    if (plan.details > 0) {
      body.push(<DetailPane key="details" lines={details} height={plan.details} />)
      used += plan.details
    }
  }
  return (
    <Box flexDirection="column" width={columns}>
      <Header snapshot={s} columns={columns} />
      <TimeAxis snapshot={s} widths={plan.widths} />
      {body}
      {plan.strip > 0 ? <FindingStrip findings={s.findings} columns={columns} rows={plan.strip} /> : null}
      <StatusLine ui={s.ui} notice={s.notice} columns={columns} first={plan.first + 1} last={plan.last + 1} total={plan.total} findings={s.findings.length} />
    </Box>
  )
}
