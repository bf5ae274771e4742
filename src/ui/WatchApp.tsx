// The live view with its keys: Ink's input goes to `onKey`; the state lives in the store outside.
import React from 'react'
import {useInput, type Key} from 'ink'
import type {ViewSnapshot} from './view-state.js'
import {WatchView} from './WatchView.js'

export interface WatchAppProps {
  snapshot: ViewSnapshot
  columns: number
  rows: number
  onKey: (input: string, key: Key) => void
}

export function WatchApp({snapshot, columns, rows, onKey}: WatchAppProps): React.JSX.Element {
  useInput((input, key) => onKey(input, key))
  return <WatchView snapshot={snapshot} columns={columns} rows={rows} />
}
