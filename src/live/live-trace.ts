// One live trace for any sink: bpftrace session + sandbox tracker + filters, producing the
// records of a trace file in order (header once attached, sandbox records before the first
// event that names them and again when they change, events, lost records) and the footer.
// The runner (run.ts) drives it for record, watch and lab and hands its records to their sinks.
import os from 'node:os'
import {TraceSession, type SessionResult} from './session.js'
import {threadsOf} from '../proc/read.js'
import {ProcfsResolver} from '../sandbox/procfs.js'
import {SandboxTracker} from '../sandbox/tracker.js'
import {governHeap, type HeapGovernor} from '../util/heap.js'
import {sandboxRecord} from '../sandbox/registry.js'
import {baseId} from '../sandbox/sandbox-index.js'
import {podMetadata, type PodMetadata} from '../sandbox/metadata.js'
import {eventInSandboxes, hasSandboxSelector, procsOf, sandboxSelected, type Filters} from '../events/filter.js'
import type {DecodedRecord} from '../events/decoder.js'
import type {BpftraceInfo} from '../probe/bpftrace.js'
import type {FooterRecord, HeaderRecord, SandboxRecord, StopReason} from '../events/types.js'
import {traceFooter, traceHeader} from '../events/format.js'
import {startMark} from '../util/start-log.js'
import type {PrestartedTrace} from './plan.js'

export type LiveRecord = HeaderRecord | SandboxRecord | DecodedRecord

export interface LiveOptions {
  bpftrace: BpftraceInfo
  filters: Filters
  host: string
  argv: string[]
  /** one-line notices for the user */
  log: (line: string) => void
  stopStepMs?: number
  /** the CRI socket to name pods from (the lab's private containerd); else the usual search */
  criSocket?: string
  /** bpftrace already started (--all, --pid): the session reads it */
  prestarted?: PrestartedTrace
}

export interface LiveResult extends SessionResult {
  events: number
  kinds: Record<string, number>
}

/** What record and watch return once a trace has ended. */
export interface TraceTotals {
  reason: StopReason
  events: number
  lost: number
  kinds: Record<string, number>
  flooded: number
  countsVerified: boolean
  stderrTail: string
}

export class LiveTrace {
  readonly tracker: SandboxTracker
  private heap?: HeapGovernor
  readonly session: TraceSession
  private started = false
  private early: DecodedRecord[] = []
  private written = new Map<string, number>()
  events = 0
  lost = 0
  readonly kinds: Record<string, number> = {}
  /** the pod metadata source: closed at the end, its background commands with it */
  private readonly meta: PodMetadata

  constructor(private readonly opts: LiveOptions, private readonly sink: (rec: LiveRecord) => void) {
    const resolver = new ProcfsResolver()
    this.meta = podMetadata({background: true, criSocket: opts.criSocket, onRefresh: () => this.tracker.scheduleRescan()})
    this.tracker = new SandboxTracker({
      // podman and the CRI socket asked in the background after the first scan; a changed answer is looked at again
      meta: this.meta,
      // A sandbox already out that changed (its pause found, its pod named): send it again. So is a
      // new one that took over an id already out (`<id>~N`, a re-created pod in a reused namespace
      // inode): its processes were shown under the old id, and may do nothing more for a while.
      onChange: (ids) => {
        if (this.started) for (const id of ids) if (this.written.has(id) || this.written.has(baseId(id))) this.sendSandbox(id)
      },
    })
    // The first scan of /proc: before bpftrace starts where the program is seeded with the tasks in
    // sandboxes (the default scope), else while it compiles. Either way before its first line is
    // decoded (the resolver and the classifier need it).
    let scanned = false
    const scan = (): void => {
      if (scanned) return
      scanned = true
      this.tracker.scan()
      startMark(`/proc scanned: ${this.tracker.processes.length} processes`)
      resolver.fromEntries(this.tracker.processes)
    }
    this.session = new TraceSession({
      bpftrace: opts.bpftrace,
      filters: opts.filters,
      resolver,
      classifier: this.tracker.index,
      sandboxSeed: () => {
        scan()
        return this.tracker.sandboxPids().flatMap((pid) => threadsOf(pid))
      },
      afterSpawn: scan,
      prestarted: opts.prestarted,
      stopStepMs: opts.stopStepMs,
      onRecord: (r) => (this.started ? this.send(r) : this.early.push(r)),
    })
  }

  /** Starts bpftrace; once every probe is attached, sends the header and the known sandboxes. */
  async start(): Promise<HeaderRecord> {
    try {
      await this.session.start()
    } catch (err) {
      this.tracker.stop()
      void this.meta.close()
      throw err
    }
    const {filters} = this.opts
    const header = traceHeader({
      host: this.opts.host, kernel: os.release(), bpftrace: this.opts.bpftrace.version, startedAt: this.session.startedAt.toISOString(),
      filters: {...filters}, argv: this.opts.argv, signalTargets: this.session.rawSignalGenerate ? 'kernel' : 'proc',
    })
    this.sink(header)
    this.started = true
    this.heap = governHeap()
    for (const sb of this.tracker.index.all()) if (sandboxSelected(filters, sb)) this.sendSandbox(sb.id)
    if (hasSandboxSelector(filters) && !this.tracker.index.all().some((sb) => sandboxSelected(filters, sb))) {
      this.opts.log('pausetrace: no sandbox matches --pod/--namespace/--sandbox yet; its events will come when one appears.')
    }
    for (const r of this.early.splice(0)) this.send(r)
    return header
  }

  private sendSandbox(id: string): void {
    const sb = this.tracker.index.get(id)
    if (!sb) return
    this.sink(sandboxRecord(sb))
    this.written.set(id, this.tracker.index.versions.get(id) ?? 0)
  }

  private send(r: DecodedRecord): void {
    this.heap?.note()
    if (r.type === 'event') {
      if (!eventInSandboxes(r, this.opts.filters, (id) => this.tracker.index.get(id))) return
      for (const p of procsOf(r)) if (p.sandbox && this.written.get(p.sandbox) !== this.tracker.index.versions.get(p.sandbox)) this.sendSandbox(p.sandbox)
      this.events++
      this.kinds[r.kind] = (this.kinds[r.kind] ?? 0) + 1
    } else this.lost += r.count
    this.sink(r)
  }

  stop(reason: StopReason): Promise<SessionResult> {
    return this.session.stop(reason)
  }

  async done(): Promise<LiveResult> {
    try {
      const r = await this.session.done()
      // A last look before the footer: sandboxes in the trace that a pending rescan would have
      // completed (their pause, their pod name) are written once more, from the answers at hand
      // (the sources are closed first: no command is started that would outlive the trace).
      // The runtime is asked once more first (at most 2 s): a pod made just before the end is
      // named by it, not by its id alone.
      this.tracker.stop()
      await this.meta.settle(0, 2000)
      const closed = this.meta.close()
      for (const id of this.tracker.scan()) if (this.written.has(id)) this.sendSandbox(id)
      // the commands still running are ended, and reaped here: none is left to the node's init
      await closed
      return {...r, events: this.events, kinds: {...this.kinds}}
    } finally {
      this.tracker.stop()
      void this.meta.close()
      this.heap?.stop()
    }
  }

  footer(result: LiveResult): FooterRecord {
    return traceFooter({endedAt: new Date().toISOString(), events: result.events, lost: this.lost, reason: result.reason, kinds: result.kinds, flooded: result.stats.flooded, outOfOrder: result.stats.outOfOrder})
  }

  totals(result: LiveResult): TraceTotals {
    return {reason: result.reason, events: result.events, lost: this.lost, kinds: result.kinds, flooded: result.stats.flooded, countsVerified: result.countsVerified, stderrTail: result.exit.stderrTail}
  }

  /** The summary line `record` prints on stderr. */
  summary(result: LiveResult, where: string): string {
    const secs = ((Date.now() - this.session.startedAt.getTime()) / 1000).toFixed(1)
    const byKind = Object.entries(result.kinds).map(([k, n]) => `${k} ${n}`).join(', ')
    const check = result.countsVerified ? "checked against the kernel's counts" : 'not checked: bpftrace gave no final counts'
    return `pausetrace: ${result.events} events${byKind ? ` (${byKind})` : ''} in ${secs} s → ${where}; ${this.lost} lost (${check}); ${result.stats.flooded} signals counted in flood summaries; stopped: ${result.reason}`
  }

  kill(): void {
    this.session.kill()
    this.tracker.stop()
    void this.meta.close()
    this.heap?.stop()
  }
}
