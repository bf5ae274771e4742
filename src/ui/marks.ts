// The marks on a lane's track: one table of glyphs (tone, which mark wins a shared cell, the help's
// words), read by glyphOf and by the legend alike, and the colour of each tone.
import {deliveredState, type LaneItem} from '../model/timeline.js'
import {SIGNAL_STATES, shownState} from './signal-state.js'

export type Tone = 'ignored' | 'pending' | 'handler' | 'default' | 'consumed' | 'exit' | 'zombie' | 'reap' | 'flood' | 'fork' | 'gap' | 'none'

export interface Glyph {
  ch: string
  tone: Tone
  /** the higher wins a cell shared with other marks */
  prio: number
}

/** Every mark, in the legend's order. `legend`: its line in the help (none: told on another mark's line). */
export const MARKS = {
  I: {tone: 'ignored', prio: 10, legend: 'signal ignored by the kernel (PID 1 without a handler, SIG_IGN, SIGCHLD…)'},
  P: {tone: 'pending', prio: 6, legend: 'signal pending: queued and not delivered yet, or merged into one already pending'},
  H: {tone: 'handler', prio: 5, legend: 'signal delivered to a handler'},
  D: {tone: 'default', prio: 7, legend: 'signal delivered to its default action (for SIGTERM, SIGKILL…: the process dies)'},
  C: {tone: 'consumed', prio: 4, legend: 'signal consumed without a handler (a signalfd or sigwaitinfo reader: catatonit) or never delivered'},
  X: {tone: 'exit', prio: 8, legend: 'exit (reaped)'},
  Z: {tone: 'zombie', prio: 9, legend: 'exit, not reaped: a zombie (z… while it stays one)'},
  R: {tone: 'reap', prio: 7, legend: 'reap: wait4/waitid collected an exited child'},
  F: {tone: 'flood', prio: 8, legend: 'flood: signals counted in the kernel (the count is in the summary)'},
  '+': {tone: 'fork', prio: 1, legend: 'process started (fork)'},
  '░': {tone: 'gap', prio: 0.5, legend: 'events lost here: marks in this span may be missing'},
  '†': {tone: 'exit', prio: 3, legend: 'signal to a process that had already exited (a zombie): no effect'},
  z: {tone: 'zombie', prio: 2, legend: undefined},
} as const satisfies Record<string, {tone: Tone; prio: number; legend: string | undefined}>

export type MarkChar = keyof typeof MARKS

export function glyph(ch: MarkChar): Glyph {
  return {ch, tone: MARKS[ch].tone, prio: MARKS[ch].prio}
}

/** The help's legend: mark, tone, meaning. */
export const LEGEND: Array<[string, Tone, string]> = Object.entries(MARKS).flatMap(([ch, m]) => (m.legend ? [[ch, m.tone, m.legend] as [string, Tone, string]] : []))

export function glyphOf(item: LaneItem, now: number): Glyph {
  switch (item.kind) {
    case 'signal':
      return glyph(SIGNAL_STATES[shownState(item, now)].mark)
    case 'deliver':
      return glyph(SIGNAL_STATES[deliveredState(item.ev.handler)].mark)
    case 'exit':
      return glyph(item.released ? 'X' : 'Z')
    case 'reap':
      return glyph('R')
    case 'flood':
      return glyph('F')
    case 'fork':
      return glyph('+')
  }
}

/** Terminal colours of the marks (Ink colour names). */
export const TONE_COLOR: Record<Tone, string | undefined> = {
  ignored: 'red',
  pending: 'yellow',
  handler: 'green',
  default: 'magenta',
  consumed: 'cyan',
  exit: undefined,
  zombie: 'red',
  reap: 'green',
  flood: 'yellow',
  fork: 'gray',
  gap: 'gray',
  none: 'gray',
}
