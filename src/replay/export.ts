// `export`: one trace file → Perfetto trace-event JSON or CSV, streamed: records are read,
// converted and written one batch at a time, so memory does not grow with the file.
import {statSync} from 'node:fs'
import path from 'node:path'
import type {Filters} from '../events/filter.js'
import {TraceInput} from './input.js'
import {BatchedOutput} from './output.js'
import {PerfettoExporter, perfettoEpilogue, perfettoPrologue, type ChromeTraceEvent} from './perfetto.js'
import {CsvExporter, csvHeader} from './csv.js'
import {openOutputStream, type SafeOutput} from '../record/safe-open.js'
import {UsageError} from '../errors.js'

export type ExportFormat = 'perfetto' | 'csv'

export interface ExportOptions {
  file: string
  format: ExportFormat
  /** output file, or "-" for stdout */
  output: string
  force?: boolean
  filters: Filters
  warn: (line: string) => void
}

export interface ExportResult {
  output: string
  format: ExportFormat
  /** events read from the trace (after filters) */
  events: number
  /** CSV rows, or Perfetto trace events, written */
  written: number
  /** Perfetto: signal arrows */
  flows: number
  warnings: string[]
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a)
    const y = statSync(b)
    return x.dev === y.dev && x.ino === y.ino
  } catch {
    return path.resolve(a) === path.resolve(b)
  }
}

export async function exportTrace(opts: ExportOptions): Promise<ExportResult> {
  if (opts.output !== '-' && sameFile(opts.file, opts.output)) throw new UsageError(`-o ${opts.output} is the trace being read; give another output file.`)
  // The header is read (and the file refused if it is not a trace) before the output is created.
  const input = await TraceInput.open([opts.file], opts.filters, {keys: false})
  let file: SafeOutput | undefined
  try {
    file = opts.output === '-' ? undefined : openOutputStream(opts.output, {force: opts.force})
  } catch (err) {
    await input.close()
    throw err
  }
  const out = new BatchedOutput(file ? file.stream : process.stdout)
  let events = 0
  let written = 0
  let flows = 0
  try {
    if (opts.format === 'csv') {
      const csv = new CsvExporter()
      await out.write(csvHeader())
      for await (const batch of input.batches()) {
        if (out.closed) break
        for (const e of batch) {
          if (e.record.type === 'event') events++
          const line = csv.push(e.record)
          if (line === undefined) continue
          written++
          const wait = out.write(line)
          if (wait) await wait
        }
      }
    } else {
      const queue: ChromeTraceEvent[] = []
      const perfetto = new PerfettoExporter((ev) => queue.push(ev))
      let sep = ''
      const drain = async (): Promise<void> => {
        for (const ev of queue) {
          const wait = out.write(`${sep}${JSON.stringify(ev)}`)
          sep = ',\n'
          written++
          if (wait) await wait
        }
        queue.length = 0
      }
      await out.write(perfettoPrologue())
      for await (const batch of input.batches()) {
        if (out.closed) break
        for (const e of batch) {
          if (e.record.type === 'event') events++
          perfetto.push(e.record)
          if (queue.length) await drain()
        }
      }
      perfetto.end()
      await drain()
      flows = perfetto.stats.flows
      await out.write(perfettoEpilogue(perfetto.header ?? input.sources[0]?.header))
    }
    await out.end()
    await file?.close()
  } catch (err) {
    await input.close()
    await file?.discard()
    throw err
  }
  return {output: opts.output, format: opts.format, events, written, flows, warnings: input.warnings(opts.warn)}
}
