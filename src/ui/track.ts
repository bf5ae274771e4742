// A lane's track: the time window cut into cells, each showing the most important mark in it, a
// zombie's bar up to now, lost-event spans, and a flood's count written after its mark.
import type {GapItem, Lane} from '../model/timeline.js'
import {glyph, glyphOf, type Glyph, type Tone} from './marks.js'

export interface Cell {
  ch: string
  tone: Tone
}

/** A lane's track: `width` cells for the window [from, to]; the most important mark wins a cell. */
export function trackCells(lane: Lane, gaps: GapItem[], window: {from: number; to: number}, width: number, now: number): Cell[] {
  const cells: Array<Cell & {prio: number}> = Array.from({length: width}, () => ({ch: '·', tone: 'none', prio: 0}))
  if (width <= 0) return cells
  const span = Math.max(1, window.to - window.from)
  const col = (t: number): number => Math.min(width - 1, Math.max(0, Math.floor(((t - window.from) / span) * width)))
  const put = (c: number, g: Glyph): void => {
    if (g.prio > cells[c].prio) cells[c] = {ch: g.ch, tone: g.tone, prio: g.prio}
  }
  const bar = (a: number, b: number, g: Glyph): void => {
    if (b < window.from) return
    for (let c = col(Math.max(a, window.from)); c <= col(b); c++) put(c, g)
  }
  for (const g of gaps) bar(g.t, g.endT ?? now, glyph('░'))
  for (const item of lane.items) {
    // a zombie's bar runs from its exit to now
    if (item.kind === 'exit' && !item.released) bar(item.t, now, glyph('z'))
    if (item.t < window.from) continue
    put(col(item.t), glyphOf(item, now))
  }
  // A flood is one mark with its count, written after it where the track is free.
  for (const item of lane.items) {
    if (item.kind !== 'flood' || item.t < window.from) continue
    const c = col(item.t)
    if (cells[c].ch !== 'F') continue
    const text = `×${item.count}`
    for (let i = 0; i < text.length && c + 1 + i < width && cells[c + 1 + i].prio < 1; i++) cells[c + 1 + i] = {ch: text[i], tone: 'flood', prio: 1}
  }
  return cells.map(({ch, tone}) => ({ch, tone}))
}
