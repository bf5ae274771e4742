// The selected sandbox's detail: one event (newest first, ←/→ to move) and its chain, step by
// step with times: syscall → generated → delivered or consumed → exit → SIGCHLD → reap.
import React from 'react'
import {Box} from 'ink'
import type {DetailLine} from './chain.js'
import {Line} from './Line.js'

export interface DetailPaneProps {
  /** from detailLines() */
  lines: DetailLine[]
  height: number
}

export function DetailPane({lines, height}: DetailPaneProps): React.JSX.Element {
  const shown = lines.slice(0, height).map((l, i) => <Line key={i} segments={[{text: l.text, bold: l.bold, dim: l.dim}]} />)
  for (let i = shown.length; i < height; i++) shown.push(<Line key={i} segments={[]} />)
  return <Box flexDirection="column">{shown}</Box>
}
