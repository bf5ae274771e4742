// What a key does to the view's state. Pure: a key in, a change of the view state (or quit) out.
import type {ViewState} from './view-state.js'

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
export function applyKey(view: ViewState, input: string, key: KeyInfo): 'quit' | undefined {
  if (key.ctrl && input === 'c') return 'quit'
  // Typed fast or pasted, several characters come as one input: one key each.
  const chars = [...input]
  if (chars.length > 1 && !key.ctrl && !key.meta) {
    for (const ch of chars) {
      const k: KeyInfo = ch === '\r' || ch === '\n' ? {return: true} : ch === '\u007f' || ch === '\b' ? {backspace: true} : {}
      if (applyKey(view, k.return || k.backspace ? '' : ch, k) === 'quit') return 'quit'
    }
    return undefined
  }
  const ui = view.ui
  if (ui.editing) {
    if (key.return) view.endFilter(true)
    else if (key.escape) view.endFilter(false)
    else if (key.backspace || key.delete) view.setFilter(ui.filter.slice(0, -1))
    else if (input && !key.ctrl && !key.meta && !/[\u0000-\u001f\u007f]/.test(input)) view.setFilter(ui.filter + input)
    return undefined
  }
  if (input === 'q') return 'quit'
  if (input === '?') view.toggleHelp()
  else if (key.escape) {
    if (ui.help) view.toggleHelp()
    else if (ui.findings) view.toggleFindings()
    else if (ui.details) view.toggleDetails()
  } else if (input === ' ') view.setPaused(!ui.paused)
  else if (key.upArrow || input === 'k') view.select(-1)
  else if (key.downArrow || input === 'j') view.select(1)
  else if (key.return) view.toggleDetails()
  else if (key.leftArrow || input === 'h') view.moveEntry(1)
  else if (key.rightArrow || input === 'l') view.moveEntry(-1)
  else if (input === '/') view.beginFilter()
  else if (input === 'f') view.toggleFindings()
  return undefined
}
