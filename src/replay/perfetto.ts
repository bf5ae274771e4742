// Trace records → Chrome/Perfetto trace events (the JSON that ui.perfetto.dev opens), one record
// at a time. Layout: one process track per sandbox (and one for host processes), one thread
// track per process (host PID), its life as a slice, exits/reaps/execs/deliveries as instants,
// and each signal as a short slice on the sender and on the receiver joined by a flow arrow.
//
// Perfetto nests slices of a thread strictly (a slice that overlaps another partially is dropped)
// and binds a flow to the slice open on the track at its time. So: a signal's slice lasts
// SLICE_NS, cut short by the next slice on the same track (held until then: one pending group
// per track); a process's life slice is written when it ends, enclosing everything on its track.
// Memory: one entry per process alive (or exited and not yet reaped) and per sandbox, never per event.
import type {ProcRef, SandboxRecord, TraceRecord, TraceEvent, HeaderRecord} from '../events/types.js'
import {formatStatus, formatTarget} from '../ui/text-line.js'
import {signalName} from '../events/names.js'

export interface ChromeTraceEvent {
  ph: 'X' | 'i' | 's' | 'f' | 'M'
  name: string
  ts: number
  pid: number
  tid: number
  cat?: string
  dur?: number
  /** instant scope */
  s?: 't' | 'p' | 'g'
  id?: number
  /** flow end binds to the enclosing slice */
  bp?: 'e'
  args?: Record<string, unknown>
}

/** Nominal length of a signal's slice (ns), shortened so it never overlaps the next slice on its track. */
export const SLICE_NS = 1_000_000
/** Exited, unreaped processes kept waiting for their reap; beyond this the oldest is closed at its exit. */
export const MAX_UNREAPED = 65_536
export const HOST_GROUP = 'host'
/** process_sort_index of the host processes' track: after every sandbox */
const HOST_SORT_INDEX = 1_000_000

interface Pending {
  t: number
  slices: ChromeTraceEvent[]
}

interface Track {
  group: string
  pid: number
  tid: number
  name: string
  lifeStart: number
  exitAt?: number
  exitWhat?: string
  pending?: Pending
}

const us = (ns: number): number => Math.round(ns) / 1000

export function procLabel(p: ProcRef): string {
  const inner = p.innerPid !== null && p.innerPid !== undefined && p.innerPid !== p.pid ? `/${p.innerPid}` : ''
  return `${p.comm || '?'}[${p.pid}${inner}]`
}

function threadName(p: ProcRef): string {
  const inner = p.innerPid !== null && p.innerPid !== undefined && p.innerPid !== p.pid ? ` (pid ${p.innerPid} inside)` : ''
  return `${p.comm || '?'}${inner}${p.role === 'pause' ? ' [pause]' : ''}`
}

export function sandboxTitle(id: string, sb: SandboxRecord | undefined): string {
  if (id === HOST_GROUP) return 'host processes'
  if (sb?.pod) return `pod ${sb.pod.namespace ? `${sb.pod.namespace}/` : ''}${sb.pod.name} (${id})`
  return `sandbox ${id}${sb ? ` (${sb.runtime})` : ''}`
}

export class PerfettoExporter {
  header?: HeaderRecord
  private groups = new Map<string, {pid: number; title: string}>()
  private sandboxes = new Map<string, SandboxRecord>()
  private procs = new Map<number, Track>()
  /** exited and not reaped, oldest exit first */
  private unreaped = new Map<number, Track>()
  private nextGroupPid = 1
  private nextFlow = 1
  private now = 0
  /** counts for the caller's summary */
  readonly stats = {events: 0, flows: 0, lost: 0}

  constructor(private readonly emit: (e: ChromeTraceEvent) => void) {}

  push(rec: TraceRecord): void {
    switch (rec.type) {
      case 'header':
        this.header ??= rec
        return
      case 'sandbox':
        this.onSandbox(rec)
        return
      case 'lost':
        this.now = Math.max(this.now, rec.t)
        this.stats.lost += rec.count
        this.emit({ph: 'i', s: 'g', name: `lost ${rec.count} event(s)`, cat: 'lost', ts: us(this.now), pid: 0, tid: 0, args: {count: rec.count, source: rec.source ?? null}})
        return
      case 'event':
        this.stats.events++
        this.onEvent(rec)
        return
      default:
        return
    }
  }

  /** Closes every open life slice at the end of the trace. */
  end(): void {
    for (const tr of [...this.procs.values()]) {
      if (tr.exitAt !== undefined) this.closeLife(tr, tr.exitAt, true, {reaped: false})
      else this.closeLife(tr, this.now, true, {aliveAtEnd: true})
    }
    this.procs.clear()
    this.unreaped.clear()
  }

  private onSandbox(sb: SandboxRecord): void {
    this.sandboxes.set(sb.id, sb)
    const g = this.groups.get(sb.id)
    if (g) {
      const title = sandboxTitle(sb.id, sb)
      if (title !== g.title) {
        g.title = title
        this.emit({ph: 'M', name: 'process_name', ts: 0, pid: g.pid, tid: 0, args: {name: title}})
      }
    }
  }

  private groupPid(group: string): number {
    const g = this.groups.get(group)
    if (g) return g.pid
    const pid = this.nextGroupPid++
    const title = sandboxTitle(group, this.sandboxes.get(group))
    this.groups.set(group, {pid, title})
    this.emit({ph: 'M', name: 'process_name', ts: 0, pid, tid: 0, args: {name: title}})
    this.emit({ph: 'M', name: 'process_sort_index', ts: 0, pid, tid: 0, args: {sort_index: group === HOST_GROUP ? HOST_SORT_INDEX : pid}})
    return pid
  }

  /** The track of a process, made on its first appearance (its life starts then). */
  private track(p: ProcRef, t: number): Track {
    const group = p.sandbox ?? HOST_GROUP
    let tr = this.procs.get(p.pid)
    if (tr && tr.group !== group) {
      // It entered another sandbox (setns/unshare): its life on the old track ends here.
      this.closeLife(tr, t, false, {movedTo: group})
      tr = undefined
    }
    if (!tr) {
      const pid = this.groupPid(group)
      tr = {group, pid, tid: p.pid, name: '', lifeStart: t}
      this.procs.set(p.pid, tr)
    }
    const name = threadName(p)
    if (name !== tr.name) {
      tr.name = name
      this.emit({ph: 'M', name: 'thread_name', ts: 0, pid: tr.pid, tid: tr.tid, args: {name}})
    }
    return tr
  }

  /** A slice on a track at `t`; the track's previous group of slices is cut to end by `t`. */
  private slice(tr: Track, t: number, name: string, cat: string, args: Record<string, unknown>): void {
    if (tr.pending && tr.pending.t < t) this.flush(tr, t)
    tr.pending ??= {t, slices: []}
    tr.pending.slices.push({ph: 'X', name, cat, ts: us(t), dur: 0, pid: tr.pid, tid: tr.tid, args})
  }

  /** Writes the pending slices, ending by `limit` (and after at most SLICE_NS). */
  private flush(tr: Track, limit: number): void {
    const p = tr.pending
    if (!p) return
    const dur = us(Math.max(0, Math.min(SLICE_NS, limit - p.t)))
    for (const s of p.slices) this.emit({...s, dur})
    tr.pending = undefined
  }

  private instant(tr: Track, t: number, name: string, cat: string, args: Record<string, unknown>): void {
    this.emit({ph: 'i', s: 't', name, cat, ts: us(t), pid: tr.pid, tid: tr.tid, args})
  }

  /**
   * Writes a process's life slice [first seen, end]. `stretch`: the end is not an event of its
   * own (end of trace, or an exit never reaped), so the slice also covers its last signal slice.
   */
  private closeLife(tr: Track, end: number, stretch: boolean, args: Record<string, unknown>): void {
    let until = Math.max(end, tr.pending?.t ?? end)
    if (stretch && tr.pending) until = Math.max(until, tr.pending.t + SLICE_NS)
    this.flush(tr, until)
    const exit = tr.exitAt === undefined ? {} : {exitAt: us(tr.exitAt), exit: tr.exitWhat}
    this.emit({ph: 'X', name: tr.name, cat: 'life', ts: us(tr.lifeStart), dur: us(until - tr.lifeStart), pid: tr.pid, tid: tr.tid, args: {pid: tr.tid, ...exit, ...args}})
    if (this.procs.get(tr.tid) === tr) this.procs.delete(tr.tid)
    this.unreaped.delete(tr.tid)
  }

  private onEvent(e: TraceEvent): void {
    // Perfetto needs each track in time order; a file is, but never trust input to be.
    const t = (this.now = Math.max(this.now, Number.isFinite(e.t) ? e.t : this.now))
    switch (e.kind) {
      case 'signal':
      case 'flood': {
        const from = this.track(e.from, t)
        const to = e.to ? this.track(e.to, t) : undefined
        const what = e.kind === 'flood' ? `${e.count}× ${e.signame}` : e.signame
        const target = e.to ? procLabel(e.to) : e.kind === 'signal' ? formatTarget(e.target) || '?' : '?'
        const verdict = e.kind === 'flood' ? `counted in the kernel (${e.of})` : e.sig === 0 ? 'check' : e.result ?? 'not sent'
        const via = e.kind === 'signal' ? e.via : 'flood'
        const args: Record<string, unknown> = {
          sig: e.sig, signame: e.signame, via, from: procLabel(e.from), to: e.to ? procLabel(e.to) : null,
          ...(e.kind === 'signal' ? {target: e.target ?? null, result: e.result ?? null, ret: e.ret ?? null, errno: e.errno ?? null, code: e.code ?? null} : {count: e.count, of: e.of, sinceT: us(e.sinceT)}),
        }
        this.slice(from, t, `${what} → ${target} (${via}): ${verdict}`, e.kind, args)
        if (to) {
          this.slice(to, t, `${what} ← ${procLabel(e.from)}: ${verdict}`, e.kind, args)
          const id = this.nextFlow++
          this.stats.flows++
          this.emit({ph: 's', name: 'signal', cat: 'signal', id, ts: us(t), pid: from.pid, tid: from.tid})
          this.emit({ph: 'f', bp: 'e', name: 'signal', cat: 'signal', id, ts: us(t), pid: to.pid, tid: to.tid})
        }
        return
      }
      case 'deliver': {
        const tr = this.track(e.proc, t)
        const to = e.handler === 'handler' ? 'its handler' : e.handler === 'ignore' ? 'SIG_IGN' : 'default action'
        this.instant(tr, t, `deliver ${e.signame} → ${to}`, 'deliver', {sig: e.sig, signame: e.signame, handler: e.handler})
        return
      }
      case 'exit': {
        const tr = this.track(e.proc, t)
        const how = e.signal !== undefined ? `killed by ${signalName(e.signal)}${e.core ? ' (core dumped)' : ''}` : `exit code ${e.code}`
        if (!e.groupDead) {
          this.instant(tr, t, `thread ${e.proc.tid ?? '?'} ${how}`, 'exit', {tid: e.proc.tid ?? null, code: e.code ?? null, signal: e.signal ?? null})
          return
        }
        this.instant(tr, t, how, 'exit', {code: e.code ?? null, signal: e.signal ?? null, core: e.core ?? null, how: e.how ?? null})
        tr.exitAt = t
        tr.exitWhat = how
        this.unreaped.delete(tr.tid)
        this.unreaped.set(tr.tid, tr)
        if (this.unreaped.size > MAX_UNREAPED) {
          const oldest = this.unreaped.values().next().value as Track
          this.closeLife(oldest, oldest.exitAt ?? t, true, {reaped: false})
        }
        return
      }
      case 'reap': {
        const reaper = this.track(e.reaper, t)
        const status = formatStatus(e.status)
        this.instant(reaper, t, `reap ${procLabel(e.child)}: ${status}`, 'reap', {child: procLabel(e.child), status: e.status, syscall: e.syscall, options: e.options ?? null, statusFrom: e.statusFrom})
        const gone = 'exited' in e.status || 'signaled' in e.status
        const child = this.procs.get(e.child.pid)
        if (gone && child) this.closeLife(child, t, false, {reapedBy: procLabel(e.reaper), status})
        return
      }
      case 'fork': {
        const parent = this.track(e.parent, t)
        this.instant(parent, t, e.thread ? `thread ${e.child.tid ?? '?'}` : `fork → ${procLabel(e.child)}`, 'fork', {child: procLabel(e.child), thread: e.thread})
        if (e.thread) return
        const old = this.procs.get(e.child.pid)
        // A PID used again: the old process's end was not seen (or it was reaped unseen).
        if (old && old !== parent) this.closeLife(old, old.exitAt ?? t, old.exitAt !== undefined, {reaped: false, pidReused: true})
        this.track(e.child, t)
        return
      }
      case 'exec': {
        const tr = this.track(e.proc, t)
        this.instant(tr, t, `exec ${e.filename}`, 'exec', {filename: e.filename})
        return
      }
      default:
        return
    }
  }
}

/** The opening and closing text around the comma-separated events of a Perfetto JSON file. */
export function perfettoPrologue(): string {
  return '{"traceEvents":[\n'
}

export function perfettoEpilogue(header: HeaderRecord | undefined): string {
  const other = header ? {source: 'pausetrace', host: header.host, kernel: header.kernel, bpftrace: header.bpftrace, startedAt: header.startedAt} : {source: 'pausetrace'}
  return `\n],\n"displayTimeUnit":"ns",\n"otherData":${JSON.stringify(other)}}\n`
}
