// Helpers for replay/export tests: the recorded fixtures, records of a file, and replayTraces
// run into a string.
import {readFileSync} from 'node:fs'
import {gunzipSync} from 'node:zlib'
import {Writable} from 'node:stream'
import {fileURLToPath} from 'node:url'
import {replayTraces, type ReplayOptions, type ReplayResult} from '../../src/replay/replay.js'
import {NO_FILTERS} from '../../src/replay/filter.js'

export const FIXTURES = fileURLToPath(new URL('../fixtures/replay/', import.meta.url))
export const TRACE_A = `${FIXTURES}sandbox-a.jsonl`
export const TRACE_B_GZ = `${FIXTURES}sandbox-b.jsonl.gz`

/** The text of a trace file (gunzipped when it is gzip). */
export function traceText(file: string): string {
  const buf = readFileSync(file)
  return (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('utf8')
}

export function traceRecords(file: string): Array<Record<string, any>> {
  return traceText(file).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>)
}

export class StringSink extends Writable {
  text = ''
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8')
    cb()
  }
}

export async function replayToString(files: string[], opts: Partial<Omit<ReplayOptions, 'files' | 'out' | 'warn'>> = {}): Promise<{out: string; warnings: string[]; result: ReplayResult}> {
  const sink = new StringSink()
  const warnings: string[] = []
  const result = await replayTraces({files, format: 'json', filters: NO_FILTERS, speed: 0, ...opts, out: sink, warn: (l) => warnings.push(l)})
  return {out: sink.text, warnings, result}
}

/** The PID 1 of the scenario's sandbox: the process with PID 1 inside that execs /usr/bin/sleep. */
export function scenarioPid1(records: Array<Record<string, any>>): {pid: number; sandbox: string} {
  const exec = records.find((r) => r.type === 'event' && r.kind === 'exec' && r.filename === '/usr/bin/sleep' && r.proc.innerPid === 1)
  if (!exec) throw new Error('the fixture has no exec of sleep as PID 1: re-record it with record.sh')
  return {pid: exec.proc.pid as number, sandbox: exec.proc.sandbox as string}
}
