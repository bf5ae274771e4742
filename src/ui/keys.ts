// What a key does to the timeline's view state. Pure: a key in, a change of the store (or quit) out.
import type {Timeline} from '../model/timeline.js'

/** The parts of Ink's `Key` the view reads. */
export interface KeyInfo {
  upArrow?: boolean
  downArrow?: boolean
  leftArrow?: boolean
  rightArrow?: boolean
  return?: boolean
  escape?: boolean
  backspace?: boolean
  delete?: boolean
  ctrl?: boolean
  meta?: boolean
}

/** Applies a key press; returns 'quit' when the user asked to stop. */
export function applyKey(tl: Timeline, input: string, key: KeyInfo): 'quit' | undefined {
  if (key.ctrl && input === 'c') return 'quit'
  // Typed fast or pasted, several characters come as one input: one key each.
  const chars = [...input]
  if (chars.length > 1 && !key.ctrl && !key.meta) {
    for (const ch of chars) {
      const k: KeyInfo = ch === '\r' || ch === '\n' ? {return: true} : ch === '\u007f' || ch === '\b' ? {backspace: true} : {}
      if (applyKey(tl, k.return || k.backspace ? '' : ch, k) === 'quit') return 'quit'
    }
    return undefined
  }
  const ui = tl.ui
  if (ui.editing) {
    if (key.return) tl.endFilter(true)
    else if (key.escape) tl.endFilter(false)
    else if (key.backspace || key.delete) tl.setFilter(ui.filter.slice(0, -1))
    else if (input && !key.ctrl && !key.meta && !/[\u0000-\u001f\u007f]/.test(input)) tl.setFilter(ui.filter + input)
    return undefined
  }
  if (input === 'q') return 'quit'
  if (input === '?') tl.toggleHelp()
  else if (key.escape) {
    if (ui.help) tl.toggleHelp()
    else if (ui.details) tl.toggleDetails()
  } else if (input === ' ') tl.setPaused(!ui.paused)
  else if (key.upArrow || input === 'k') tl.select(-1)
  else if (key.downArrow || input === 'j') tl.select(1)
  else if (key.return) tl.toggleDetails()
  else if (key.leftArrow || input === 'h') tl.moveEntry(1)
  else if (key.rightArrow || input === 'l') tl.moveEntry(-1)
  else if (input === '/') tl.beginFilter()
  return undefined
}
