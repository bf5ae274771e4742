// The bottom line: the keys, or the filter being typed; how many findings; which sandboxes are
// shown of how many.
import React from 'react'
import type {UiState} from './view-state.js'
import {fit, textWidth} from './text-fit.js'
import {Line} from './Line.js'

export interface StatusLineProps {
  ui: Readonly<UiState>
  columns: number
  /** a message from the pipeline (replay finished, no sandbox matches yet…), shown before the keys */
  notice?: string
  /** sandboxes shown (1-based, inclusive) and in the list */
  first: number
  last: number
  total: number
  /** findings so far (none: not mentioned) */
  findings?: number
}

export function StatusLine({ui, notice, columns, first, last, total, findings = 0}: StatusLineProps): React.JSX.Element {
  const range = total === 0 ? '' : ` sandboxes ${first}–${last} of ${total}${ui.filter ? ` matching "${ui.filter}"` : ''}`
  const count = findings > 0 ? ` ${findings} finding${findings === 1 ? '' : 's'}${columns >= 70 ? ' (f)' : ''}${total === 0 ? '' : ' ·'}` : ''
  // narrow, the findings' count takes the place of the word "sandboxes"
  const where = count && textWidth(count + range) + 16 > columns ? `${count}${range.replace(' sandboxes', '')}` : count + range
  if (ui.editing) {
    const prompt = `/${ui.filter}▏ enter keep · esc clear`
    return <Line segments={[{text: fit(prompt, Math.max(0, columns - textWidth(where))), color: 'yellow'}, {text: fit(where, Math.min(columns, textWidth(where))), dim: true}]} />
  }
  const keys = columns >= 70 ? 'q quit · space pause · ↑↓ sandbox · enter details · / filter · ? help' : 'q quit · ? help'
  const room = Math.max(0, columns - textWidth(where))
  if (notice) return <Line segments={[{text: fit(`${notice} · ? help`, room), color: 'yellow'}, {text: fit(where, columns - room)}]} />
  return <Line segments={[{text: fit(keys, room), dim: true}, {text: fit(where, columns - room)}]} />
}
