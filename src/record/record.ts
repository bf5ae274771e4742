// `record`: one trace session written to a trace file, with the header once attached, the
// footer on every way out, and a one-line summary on stderr.
import os from 'node:os'
import {bpftraceInfo} from '../probe/bpftrace.js'
import {assertCanTrace} from '../probe/environment.js'
import {TraceSession, type Filters} from './session.js'
import {TraceWriter} from './writer.js'
import {ProcfsResolver, threadsOf} from '../sandbox/procfs.js'
import {SandboxTracker} from '../sandbox/tracker.js'
import {sandboxRecord} from '../sandbox/registry.js'
import {podMetadata} from '../sandbox/metadata.js'
import {eventInSandboxes, hasSandboxSelector, procsOf, sandboxSelected} from '../events/filter.js'
import type {DecodedRecord} from '../events/decoder.js'
import type {FooterRecord, HeaderRecord, StopReason} from '../events/types.js'

export interface RecordOptions {
  output: string
  force?: boolean
  filters: Filters
  durationMs?: number
  maxSize?: number
  bpftrace?: string
  argv: string[]
  host: string
  /** where the summary goes (default stderr) */
  log?: (line: string) => void
}

export interface RecordResult {
  output: string
  reason: StopReason
  events: number
  lost: number
  kinds: Record<string, number>
  flooded: number
  countsVerified: boolean
  stderrTail: string
}

export async function recordTrace(opts: RecordOptions): Promise<RecordResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`))
  assertCanTrace()
  const info = await bpftraceInfo(opts.bpftrace)
  const writer = TraceWriter.open(opts.output, {force: opts.force})
  const resolver = new ProcfsResolver()
  const written = new Map<string, number>()
  let headerWritten = false
  const writeSandbox = (id: string): void => {
    const sb = tracker.index.get(id)
    if (!sb) return
    writer.write(sandboxRecord(sb))
    written.set(id, tracker.index.versions.get(id) ?? 0)
  }
  const tracker = new SandboxTracker({
    meta: podMetadata(),
    // A sandbox already in the file that changed (its pause found, its pod named): write it again.
    onChange: (ids) => {
      if (headerWritten) for (const id of ids) if (written.has(id)) writeSandbox(id)
    },
  })
  tracker.scan()
  resolver.fromEntries(tracker.processes)

  const kinds: Record<string, number> = {}
  let events = 0
  let lost = 0
  const early: DecodedRecord[] = []
  let session!: TraceSession
  const write = (r: DecodedRecord): void => {
    if (r.type === 'event' && !eventInSandboxes(r, opts.filters, (id) => tracker.index.get(id))) return
    if (r.type === 'event') {
      for (const p of procsOf(r)) if (p.sandbox && written.get(p.sandbox) !== tracker.index.versions.get(p.sandbox)) writeSandbox(p.sandbox)
      events++
      kinds[r.kind] = (kinds[r.kind] ?? 0) + 1
    } else lost += r.count
    writer.write(r)
    if (writer.error) void session.stop('error')
    else if (opts.maxSize !== undefined && writer.bytes >= opts.maxSize) void session.stop('max-size')
  }
  session = new TraceSession({
    bpftrace: info,
    filters: opts.filters,
    resolver,
    classifier: tracker.index,
    sandboxSeed: tracker.sandboxPids().flatMap((pid) => threadsOf(pid)),
    onRecord: (r) => (headerWritten ? write(r) : early.push(r)),
  })

  const onSignal = (): void => {
    void session.stop('interrupt')
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const s of signals) process.on(s, onSignal)
  let timer: NodeJS.Timeout | undefined
  try {
    try {
      await session.start()
    } catch (err) {
      // Nothing was recorded: leave no empty file behind to block the next run.
      await writer.discard()
      throw err
    }
    const header: HeaderRecord = {
      type: 'header', format: 'pausetrace-trace', version: 1, host: opts.host, kernel: os.release(), bpftrace: info.version,
      startedAt: session.startedAt.toISOString(), filters: {...opts.filters}, argv: opts.argv,
      signalTargets: session.rawSignalGenerate ? 'kernel' : 'proc',
    }
    writer.write(header)
    writer.flush()
    headerWritten = true
    for (const sb of tracker.index.all()) if (sandboxSelected(opts.filters, sb)) writeSandbox(sb.id)
    if (hasSandboxSelector(opts.filters) && !tracker.index.all().some((sb) => sandboxSelected(opts.filters, sb))) {
      log('pausetrace: no sandbox matches --pod/--namespace/--sandbox yet; recording its events when one appears.')
    }
    for (const r of early.splice(0)) write(r)
    if (opts.durationMs !== undefined) timer = setTimeout(() => void session.stop('duration'), opts.durationMs)
    const result = await session.done()
    const footer: FooterRecord = {
      type: 'footer', endedAt: new Date().toISOString(), events, lost, reason: result.reason, kinds, flooded: result.stats.flooded,
    }
    writer.write(footer)
    let writeError: Error | undefined
    await writer.close().catch((err: Error) => {
      writeError = err
    })
    const secs = ((Date.now() - session.startedAt.getTime()) / 1000).toFixed(1)
    const byKind = Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')
    const check = result.countsVerified ? "checked against the kernel's counts" : 'not checked: bpftrace gave no final counts'
    log(`pausetrace: ${events} events${byKind ? ` (${byKind})` : ''} in ${secs} s → ${opts.output === '-' ? 'stdout' : opts.output}; ${lost} lost (${check}); ${result.stats.flooded} signals counted in flood summaries; stopped: ${result.reason}`)
    if (writeError) throw writeError
    return {output: opts.output, reason: result.reason, events, lost, kinds, flooded: result.stats.flooded, countsVerified: result.countsVerified, stderrTail: result.exit.stderrTail}
  } finally {
    if (timer) clearTimeout(timer)
    for (const s of signals) process.off(s, onSignal)
    session.kill()
    tracker.stop()
  }
}
