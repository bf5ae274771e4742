// Text that fits a terminal: display width (wide characters take two cells), cutting with …,
// word wrapping, the column widths of a lane line and the time axis.
const WIDE = /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F300}-\u{1FAFF}\u{20000}-\u{3FFFD}]/u

export function textWidth(s: string): number {
  let w = 0
  for (const ch of s) w += WIDE.test(ch) ? 2 : 1
  return w
}

/** Cuts to `width` cells (with … when cut) and pads with spaces to exactly `width`. */
export function fit(s: string, width: number): string {
  if (width <= 0) return ''
  if (textWidth(s) <= width) return s + ' '.repeat(width - textWidth(s))
  let out = ''
  let w = 0
  for (const ch of s) {
    const cw = WIDE.test(ch) ? 2 : 1
    if (w + cw > width - 1) break
    out += ch
    w += cw
  }
  return out + '…' + ' '.repeat(Math.max(0, width - 1 - w))
}

/** Word-wraps to `width` cells; a word longer than a line is cut. */
export function wrap(text: string, width: number): string[] {
  if (width <= 0) return ['']
  const out: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word
    if (textWidth(next) <= width) line = next
    else {
      if (line) out.push(line)
      line = textWidth(word) > width ? fit(word, width) : word
    }
  }
  out.push(line)
  return out
}

export interface Widths {
  label: number
  track: number
  summary: number
}

/** Column widths for a terminal `columns` wide: the summary goes first when it is narrow. */
export function widthsFor(columns: number): Widths {
  const summary = columns >= 100 ? Math.min(64, Math.floor(columns * 0.4)) : columns >= 72 ? Math.floor(columns * 0.32) : 0
  const label = columns < 60 ? Math.min(16, Math.floor(columns * 0.4)) : Math.min(24, Math.max(14, Math.floor(columns * 0.2)))
  return {label, summary, track: Math.max(1, columns - label - 1 - summary)}
}

/** The time axis under the track: 0s at the left, the window's end at the right. */
export function axisText(window: {from: number; to: number}, width: number): string {
  const span = window.to - window.from
  const label = (t: number): string => {
    const s = t / 1e9
    if (span >= 60e9) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
    return `${Number.isInteger(s) ? s : s.toFixed(1)}s`
  }
  const left = label(window.from)
  const right = label(window.to)
  const mid = label(window.from + span / 2)
  if (width < left.length + right.length + 2) return fit(left, width)
  const chars = Array.from({length: width}, () => ' ')
  const place = (text: string, at: number): void => {
    for (let i = 0; i < text.length && at + i < width; i++) chars[at + i] = text[i]
  }
  place(left, 0)
  const m = Math.floor(width / 2) - Math.floor(mid.length / 2)
  if (width >= left.length + mid.length + right.length + 4) place(mid, m)
  place(right, width - right.length)
  return chars.join('')
}
