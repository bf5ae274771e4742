import assert from 'node:assert/strict'
import {createElement} from 'react'
import chalk from 'chalk'
import {Box} from 'ink'
import {render} from 'ink-testing-library'
import {Line, lineOf, styled, type Segment} from '../../src/ui/Line.js'

// The view's one text primitive: Ink lays it out from a blank of its width (Ink 6 caches the size
// of every distinct text it measures, forever) and the styled text takes the blank's place.
describe('Line: styled text drawn in place of a blank of its width', () => {
  const draw = (lines: Segment[][]): string =>
    render(createElement(Box, {flexDirection: 'column'}, ...lines.map((segments, i) => createElement(Line, {key: i, segments})))).lastFrame() ?? ''

  it('widths count wide characters as two cells; the frame is the text, rows and columns in place', () => {
    const level = chalk.level
    chalk.level = 0
    try {
      assert.deepEqual(lineOf([{text: '▶ 名前'}, {text: ' ··', dim: true}, {text: 'I', color: 'red', bold: true}]), {text: '▶ 名前 ··I', width: 10})
      assert.equal(draw([[{text: '▶ 名前'}, {text: ' |'}], [{text: 'ab'}, {text: ' |', color: 'red'}], [], [{text: 'x'}]]), ['▶ 名前 |', 'ab |', '', 'x'].join('\n'))
    } finally {
      chalk.level = level
    }
  })

  it('colours as Ink\'s <Text> applies them: dim innermost, then the colour, bold, inverse', () => {
    const level = chalk.level
    chalk.level = 1
    try {
      assert.equal(styled({text: '·', color: 'gray', dim: true}), '\u001b[90m\u001b[2m·\u001b[22m\u001b[39m')
      assert.equal(styled({text: 'I', color: 'red', bold: true}), '\u001b[1m\u001b[31mI\u001b[39m\u001b[22m')
      assert.equal(styled({text: 'q', inverse: true}), '\u001b[7mq\u001b[27m')
      assert.equal(styled({text: 'plain'}), 'plain')
      assert.equal(draw([[{text: 'a'}, {text: 'I', color: 'red', bold: true}]]), 'a\u001b[1m\u001b[31mI\u001b[39m\u001b[22m')
    } finally {
      chalk.level = level
    }
  })
})
