// One line of the view from coloured segments (the text is already cut to the terminal width).
//
// Ink lays a line out from a blank of the line's width and writes the styled text in its place
// (a Transform): Ink 6 keeps the size of every distinct text it ever measured in a module-level
// cache that is never emptied, and a live view draws new text in every frame (the time window
// moves, counts and ages change): `watch` left running would grow without bound (~48 entries a
// frame), and measuring each new line (string-width over every character) was a fifth of a frame.
// A blank is measured once per width. The styling is chalk's, as Ink's own <Text> does it (the
// same chalk, so the same colour level: none when the terminal has none, FORCE_COLOR).
import React from 'react'
import chalk, {type ChalkInstance} from 'chalk'
import {Text, Transform} from 'ink'
import {textWidth} from './text-fit.js'

export interface Segment {
  text: string
  color?: string
  bold?: boolean
  dim?: boolean
  inverse?: boolean
}

/** A segment as the terminal shows it: SGR codes around the text when colours are on, applied in Ink's order (dim innermost, then the colour, bold, inverse). */
export function styled(s: Segment): string {
  let text = s.text
  if (!text) return text
  if (s.dim) text = chalk.dim(text)
  if (s.color && s.color in chalk) text = (chalk as unknown as Record<string, ChalkInstance>)[s.color](text)
  if (s.bold) text = chalk.bold(text)
  if (s.inverse) text = chalk.inverse(text)
  return text
}

/** The line's text as drawn, and its width in terminal cells. */
export function lineOf(segments: Segment[]): {text: string; width: number} {
  let text = ''
  let width = 0
  for (const s of segments) {
    text += styled(s)
    width += textWidth(s.text)
  }
  return {text, width}
}

export function Line({segments}: {segments: Segment[]}): React.JSX.Element {
  const {text, width} = lineOf(segments)
  if (width === 0) return <Text> </Text>
  return (
    // (were the blank ever wrapped, by a terminal narrower than the line, its text comes once)
    <Transform transform={(_, index) => (index === 0 ? text : '')}>
      <Text>{' '.repeat(width)}</Text>
    </Transform>
  )
}
