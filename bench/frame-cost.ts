// The cost of one frame of watch's Ink view, in-process: a trace file is fed into the view's state
// a slice at a time and a frame drawn after each slice, as `watch` draws them (160×48, Ink's real
// renderer into a stream that is thrown away). Prints the median and p90 ms per frame and the
// heap left after a full collection, so that a change to the view can be measured without a
// terminal, and memory that grows with frames (not with events) shows as a heap that grows with N.
//
//   NODE_ENV=production node --expose-gc --import tsx bench/frame-cost.ts TRACE.jsonl [FRAMES] [COLUMNS] [ROWS]
//
// (NODE_ENV=production: React's production build, as bin/run.js runs it.) A trace of the million
// stream or of a mix workload is a realistic input: `sudo npx tsx bench/run.ts --keep` leaves some.
import {readFileSync} from 'node:fs'
import {PassThrough} from 'node:stream'
import {createElement} from 'react'
import {render} from 'ink'
import {Timeline} from '../src/model/timeline.js'
import type {TraceRecord} from '../src/events/types.js'
import {ViewState} from '../src/ui/view-state.js'
import {WatchApp} from '../src/ui/WatchApp.js'

const [file, framesArg = '300', colsArg = '160', rowsArg = '48'] = process.argv.slice(2)
if (!file) {
  process.stderr.write('usage: NODE_ENV=production node --expose-gc --import tsx bench/frame-cost.ts TRACE.jsonl [FRAMES] [COLUMNS] [ROWS]\n')
  process.exit(2)
}
if (process.env.NODE_ENV !== 'production') process.stderr.write('frame-cost: NODE_ENV is not production: React runs its development build (slower than watch)\n')
const records = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceRecord)
const frames = Number(framesArg)
const columns = Number(colsArg)
const rows = Number(rowsArg)
const state = new ViewState(new Timeline())
const step = Math.max(1, Math.floor(records.length / frames))
const out = Object.assign(new PassThrough(), {columns, rows, isTTY: true}) as unknown as NodeJS.WriteStream
out.on('data', () => undefined)
const input = Object.assign(new PassThrough(), {isTTY: true, setRawMode: () => undefined, ref: () => undefined, unref: () => undefined}) as unknown as NodeJS.ReadStream
const element = (): React.ReactElement => createElement(WatchApp, {snapshot: state.snapshot(state.timeline.lastT), columns, rows, onKey: () => undefined})
const ink = render(element(), {stdout: out, stdin: input, exitOnCtrlC: false, patchConsole: false, maxFps: 1000})
const gc = (globalThis as {gc?: () => void}).gc
const heapMb = (): number => {
  gc?.()
  return process.memoryUsage().heapUsed / 1048576
}
const costs: number[] = []
let i = 0
let heapAtTenth = 0
for (let f = 0; f < frames; f++) {
  for (const end = Math.min(records.length, i + step); i < end; i++) state.feed(records[i])
  const t0 = performance.now()
  ink.rerender(element())
  costs.push(performance.now() - t0)
  if (f === Math.floor(frames / 10)) heapAtTenth = heapMb()
}
ink.unmount()
const heapEnd = heapMb()
const sorted = [...costs].sort((a, b) => a - b)
const ms = (x: number): string => x.toFixed(1)
process.stdout.write(`${frames} frames of ${columns}×${rows} over ${records.length} records: median ${ms(sorted[frames >> 1])} ms, p90 ${ms(sorted[Math.floor(frames * 0.9)])} ms, total ${ms(costs.reduce((a, b) => a + b, 0))} ms\n`)
process.stdout.write(gc ? `heap after a full collection: ${heapAtTenth.toFixed(1)} MB at frame ${Math.floor(frames / 10)}, ${heapEnd.toFixed(1)} MB at the end\n` : 'heap: run with --expose-gc to see it\n')
