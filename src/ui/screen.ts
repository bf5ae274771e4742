// Where everything goes on a terminal of a given size: how many rows the detail pane takes, which
// sandboxes fit around the selected one and how many of their lanes; the selected sandbox is
// filled first. Pure: the components render what this returns.
import type {Lane, SandboxState} from '../model/timeline.js'
import {widthsFor, type Widths} from './text-fit.js'
import type {ViewSnapshot} from './view-state.js'

export interface Block {
  sb: SandboxState
  lanes: Lane[]
  /** lanes that did not fit */
  hidden: number
  selected: boolean
}

export interface ScreenPlan {
  widths: Widths
  columns: number
  /** lines of output (the terminal's rows less one, so the view never scrolls it) */
  lines: number
  body: number
  details: number
  /** the latest findings' lines */
  strip: number
  blocks: Block[]
  /** index of the first and last sandbox shown, in the visible list */
  first: number
  last: number
  total: number
  selectedIndex: number
}

/** A sandbox's lanes in display order: its pause, then zombies, then the most recently active. */
export function orderedLanes(sb: SandboxState): Lane[] {
  const pause = sb.record?.pausePid
  const rank = (l: Lane): number => (l.pid === pause || l.role === 'pause' ? 0 : l.exit && !l.exit.released ? 1 : 2)
  return [...sb.lanes.values()].sort((a, b) => rank(a) - rank(b) || b.lastT - a.lastT || a.pid - b.pid)
}

export const MIN_ROWS = 8
export const MIN_COLUMNS = 20

/**
 * `detailNeed`: the lines the detail pane would use; it gets them while 3 lines are left for the
 * timelines. `strip`: the lines of the latest findings, above the status line.
 */
export function planScreen(snap: ViewSnapshot, columns: number, rows: number, detailNeed = 0, strip = 0): ScreenPlan {
  const lines = Math.max(1, rows - 1)
  const widths = widthsFor(columns)
  const details = snap.ui.details ? Math.max(0, Math.min(detailNeed, lines - 3 - 3 - strip)) : 0
  // header, time axis, status line, the findings' strip
  const body = Math.max(0, lines - 3 - details - strip)
  const list = snap.sandboxes
  const sel = Math.max(0, list.findIndex((s) => s === snap.selected))
  const plan: ScreenPlan = {widths, columns, lines, body, details, strip, blocks: [], first: 0, last: -1, total: list.length, selectedIndex: sel}
  if (list.length === 0 || body === 0) return plan
  const laneLists = list.map(orderedLanes)
  const minCost = (i: number): number => 1 + (laneLists[i].length > 0 ? 1 : 0)
  // the earliest start that still shows the selected sandbox with its first lane
  let start = sel
  for (let s = 0; s <= sel; s++) {
    let need = 0
    for (let i = s; i <= sel; i++) need += minCost(i)
    if (need <= body) {
      start = s
      break
    }
  }
  let used = 0
  let end = start - 1
  // lanes each block shows so far (its title takes one line)
  const shown = new Map<number, number>()
  for (let i = start; i < list.length; i++) {
    const c = i === sel ? Math.min(minCost(i), Math.max(1, body - used)) : minCost(i)
    if (used + c > body) break
    used += c
    shown.set(i, c - 1)
    end = i
  }
  let extra = body - used
  // more lanes: the selected sandbox first, then the others in order
  for (const i of [sel, ...Array.from({length: end - start + 1}, (_, k) => start + k).filter((i) => i !== sel)]) {
    if (i < start || i > end) continue
    const more = Math.min(extra, laneLists[i].length - (shown.get(i) ?? 0))
    if (more > 0) {
      shown.set(i, (shown.get(i) ?? 0) + more)
      extra -= more
    }
  }
  for (let i = start; i <= end; i++) {
    const n = shown.get(i) ?? 0
    plan.blocks.push({sb: list[i], lanes: laneLists[i].slice(0, n), hidden: laneLists[i].length - n, selected: i === sel})
  }
  plan.first = start
  plan.last = end
  return plan
}
