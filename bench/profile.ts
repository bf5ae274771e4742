// Where pausetrace's time goes, stage by stage, on real data: bare bpftrace's raw output of a
// benchmark run (a `*.bt.jsonl` file kept by `bench/run.ts --keep`) is fed through the live
// pipeline one stage more at a time, in this process, with no kernel work and no pipe; and a
// trace file through the replay reader. Prints µs per line for each stage and the startup costs.
//
//   sudo npx tsx bench/profile.ts RAW.bt.jsonl [TRACE.jsonl]
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {LineSplitter} from '../src/stream/lines.js'
import {parseBpftraceLine} from '../src/stream/bpftrace-json.js'
import {parseRawLine} from '../src/events/raw.js'
import {Decoder, type DecodedRecord} from '../src/events/decoder.js'
import {ProcfsResolver} from '../src/sandbox/procfs.js'
import {SandboxTracker} from '../src/sandbox/tracker.js'
import {scanProc} from '../src/sandbox/scan.js'
import {TraceWriter} from '../src/record/writer.js'
import {readTrace, type ReadProblems} from '../src/replay/reader.js'
import {median} from './lib/proc.js'

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')

function chunks(buf: Buffer, size = 65536): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size))
  return out
}

function time(fn: () => number, runs = 3): {ms: number; n: number} {
  const ms: number[] = []
  let n = 0
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    n = fn()
    ms.push(performance.now() - t0)
  }
  return {ms: median(ms), n}
}

async function timeAsync(fn: () => Promise<number>, runs = 3): Promise<{ms: number; n: number}> {
  const ms: number[] = []
  let n = 0
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    n = await fn()
    ms.push(performance.now() - t0)
  }
  return {ms: median(ms), n}
}

export async function profile(raw: string, trace?: string): Promise<string[]> {
  const out: string[] = []
  const buf = readFileSync(raw)
  const parts = chunks(buf)
  const lineCount = buf.toString('utf8').split('\n').filter(Boolean).length
  out.push(`raw bpftrace output: ${raw} (${(buf.length / 1e6).toFixed(1)} MB, ${lineCount} lines)`)
  const rows: Array<[string, number, number]> = []
  const stage = (name: string, r: {ms: number; n: number}): void => {
    rows.push([name, r.ms, r.n])
  }

  stage('1 split lines (LineSplitter)', time(() => {
    const s = new LineSplitter()
    let n = 0
    for (const c of parts) n += s.push(c).length
    return n + s.end().length
  }))
  stage('2 + JSON.parse of bpftrace records (parseBpftraceLine)', time(() => {
    const s = new LineSplitter()
    let n = 0
    for (const c of parts) for (const it of s.push(c)) if (it.kind === 'line' && parseBpftraceLine(it.text)) n++
    return n
  }))
  stage('3 + printf fields (parseRawLine)', time(() => {
    const s = new LineSplitter()
    let n = 0
    for (const c of parts) {
      for (const it of s.push(c)) {
        if (it.kind !== 'line') continue
        const r = parseBpftraceLine(it.text)
        if (r?.type === 'printf' && parseRawLine(r.text).tag !== 'bad') n++
      }
    }
    return n
  }))
  const decode = (withEnrichment: boolean, sink?: (r: DecodedRecord) => void): number => {
    let resolver: ProcfsResolver | undefined
    let tracker: SandboxTracker | undefined
    if (withEnrichment) {
      resolver = new ProcfsResolver()
      tracker = new SandboxTracker()
      tracker.scan()
      resolver.fromEntries(tracker.processes)
    }
    const d = new Decoder({resolver, classifier: tracker?.index})
    const s = new LineSplitter()
    let n = 0
    const take = (recs: DecodedRecord[]): void => {
      n += recs.length
      if (sink) for (const r of recs) sink(r)
    }
    for (const c of parts) {
      for (const it of s.push(c)) {
        if (it.kind !== 'line') continue
        const r = parseBpftraceLine(it.text)
        if (r) take(d.push(r))
      }
    }
    take(d.finish())
    tracker?.stop()
    return n
  }
  stage('4 + decoder (joins, reorder heap, flood deltas; no /proc, no sandboxes)', time(() => decode(false)))
  stage('5 + enrichment (/proc resolver for unseen targets, sandbox classifier)', time(() => decode(true)))
  stage('6 + JSON.stringify of each record', time(() => {
    let bytes = 0
    const n = decode(true, (r) => {
      bytes += JSON.stringify(r).length
    })
    return bytes > 0 ? n : 0
  }))
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-profile-'))
  try {
    let k = 0
    stage('7 + TraceWriter (stringify, batch, write to a file)', time(() => {
      const w = TraceWriter.open(path.join(dir, `t${k++}.jsonl`))
      const n = decode(true, (r) => w.write(r))
      w.flush()
      void w.close()
      return n
    }))
  } finally {
    setTimeout(() => rmSync(dir, {recursive: true, force: true}), 500).unref()
  }
  out.push('| stage (cumulative) | ms | records out | µs per raw line | added µs per raw line |')
  out.push('|---|---|---|---|---|')
  let prev = 0
  for (const [name, ms, n] of rows) {
    const per = (ms * 1000) / lineCount
    out.push(`| ${name} | ${ms.toFixed(0)} | ${n} | ${per.toFixed(2)} | ${(per - prev).toFixed(2)} |`)
    prev = per
  }

  // sandbox tracking: what a rescan and a metadata lookup cost (they run on the event loop)
  const scan = time(() => scanProc().length)
  out.push('')
  out.push(`/proc scan (scanProc, ${scan.n} processes): ${scan.ms.toFixed(1)} ms each; SandboxTracker rescans at most every 2 s while new sandboxes appear`)
  for (const [cmd, args] of [['podman', ['ps', '-a', '--pod', '--format', 'json']], ['crictl', ['pods', '-o', 'json']]] as Array<[string, string[]]>) {
    const t0 = performance.now()
    let ok = true
    try {
      execFileSync(cmd, args, {stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000})
    } catch {
      ok = false
    }
    out.push(`\`${cmd} ${args.join(' ')}\` (podMetadata, synchronous: execFileSync blocks the event loop and the bpftrace pipe): ${(performance.now() - t0).toFixed(0)} ms${ok ? '' : ' (failed or missing)'}`)
  }

  // startup
  const run = (args: string[]): number => {
    const t0 = performance.now()
    execFileSync(process.execPath, args, {cwd: ROOT, stdio: 'ignore'})
    return performance.now() - t0
  }
  const nodeBare = median([0, 1, 2].map(() => run(['-e', '0'])))
  const cli = median([0, 1, 2].map(() => run([path.join(ROOT, 'bin/run.js'), '--version'])))
  out.push(`startup: node -e 0 ${nodeBare.toFixed(0)} ms; node bin/run.js --version ${cli.toFixed(0)} ms`)

  if (trace) {
    const tb = readFileSync(trace)
    const n = tb.toString('utf8').split('\n').filter(Boolean).length
    out.push('')
    out.push(`trace file: ${trace} (${(tb.length / 1e6).toFixed(1)} MB, ${n} records)`)
    const bare = time(() => {
      let k = 0
      for (const l of tb.toString('utf8').split('\n')) if (l) {
        JSON.parse(l)
        k++
      }
      return k
    })
    const reader = await timeAsync(async () => {
      const p: ReadProblems = {badLines: 0, noFooter: false, cutLastLine: false}
      let k = 0
      for await (const _ of readTrace(trace, p)) k++
      return k
    })
    const readerOut = await timeAsync(async () => {
      const p: ReadProblems = {badLines: 0, noFooter: false, cutLastLine: false}
      let k = 0
      for await (const r of readTrace(trace, p)) k += JSON.stringify(r).length > 0 ? 1 : 0
      return k
    })
    out.push(`| replay stage | ms | µs per record |`)
    out.push('|---|---|---|')
    for (const [name, r] of [['bare JSON.parse per line (in memory)', bare], ['readTrace (stream, LineSplitter, JSON.parse, header check, generator)', reader], ['readTrace + JSON.stringify (replay --json without the process)', readerOut]] as Array<[string, {ms: number}]>) {
      out.push(`| ${name} | ${r.ms.toFixed(0)} | ${((r.ms * 1000) / n).toFixed(2)} |`)
    }
  }
  return out
}

const [raw, trace] = process.argv.slice(2)
if (!raw) {
  process.stderr.write('usage: npx tsx bench/profile.ts RAW.bt.jsonl [TRACE.jsonl]\n')
  process.exit(2)
}
profile(raw, trace).then((lines) => process.stdout.write(`${lines.join('\n')}\n`), (err: Error) => {
  process.stderr.write(`${err.stack}\n`)
  process.exit(1)
})
