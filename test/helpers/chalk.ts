// Exact frames of the live view: drawn at a size, compared without colour (chalk's level is 0 for
// the suite, and given back after).
import {createElement} from 'react'
import chalk from 'chalk'
import {render} from 'ink-testing-library'
import {WatchView} from '../../src/ui/WatchView.js'
import type {ViewState} from '../../src/ui/view-state.js'

export function withoutColour(): void {
  let level: typeof chalk.level
  before(() => {
    level = chalk.level
    chalk.level = 0
  })
  after(() => {
    chalk.level = level
  })
}

/** The last frame the live view draws of a state, at a size (colours as chalk's level says). */
export function frame(s: ViewState, columns: number, rows: number, now = s.timeline.endT()): string {
  return render(createElement(WatchView, {snapshot: s.snapshot(now), columns, rows})).lastFrame() ?? ''
}
