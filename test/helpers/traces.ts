// The recorded trace files of test/fixtures/traces (re-recorded by its record-traces.ts).
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import type {TraceRecord} from '../../src/events/types.js'
import {Timeline, type TimelineOptions} from '../../src/model/timeline.js'

export type TraceName = 'sigterm-ignored' | 'reap-by-pause' | 'zombie' | 'flood' | 'lost' | 'ns-pause' | 'teardown'

export function traceRecords(name: TraceName): TraceRecord[] {
  const file = fileURLToPath(new URL(`../fixtures/traces/${name}.jsonl`, import.meta.url))
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as TraceRecord)
}

/** A Timeline fed the whole trace. */
export function timelineOf(name: TraceName, opts: TimelineOptions = {}): Timeline {
  return new Timeline(opts).feedAll(traceRecords(name))
}

/** Any recorded trace file under test/fixtures (`traces/findings/grace-cri.jsonl`). */
export function recordsOf(rel: string): TraceRecord[] {
  return readFileSync(fileURLToPath(new URL(`../fixtures/${rel}`, import.meta.url)), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as TraceRecord)
}
