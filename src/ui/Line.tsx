// One line of the view from coloured segments (the text is already cut to the terminal width).
import React from 'react'
import {Text} from 'ink'

export interface Segment {
  text: string
  color?: string
  bold?: boolean
  dim?: boolean
  inverse?: boolean
}

export function Line({segments}: {segments: Segment[]}): React.JSX.Element {
  if (segments.length === 0) return <Text> </Text>
  return (
    <Text>
      {segments.map((s, i) => (
        <Text key={i} color={s.color} bold={s.bold} dimColor={s.dim} inverse={s.inverse}>
          {s.text}
        </Text>
      ))}
    </Text>
  )
}
