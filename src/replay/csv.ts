// Trace records → CSV rows (RFC 4180: comma-separated, CRLF line ends, fields quoted when they
// hold a comma, a quote, CR or LF, quotes doubled). One row per event and per lost record.
import type {ProcRef, SandboxRecord, TraceRecord, HeaderRecord} from '../events/types.js'
import {formatStatus, formatTarget} from '../ui/text-line.js'
import {signalName} from '../events/names.js'

export const CSV_COLUMNS = [
  'time_s', 'ts', 'host', 'kind',
  'signal', 'sig', 'via', 'result', 'ret', 'errno', 'code', 'target', 'handler',
  'from_pid', 'from_inner_pid', 'from_comm', 'from_sandbox', 'from_pod',
  'to_pid', 'to_inner_pid', 'to_comm', 'to_sandbox', 'to_pod',
  'reaper_pid', 'reaper_comm', 'child_pid', 'child_inner_pid', 'child_comm',
  'status', 'exit_code', 'exit_signal', 'core', 'group_dead', 'syscall', 'options', 'status_from',
  'thread', 'filename', 'count', 'detail',
] as const

export type CsvColumn = (typeof CSV_COLUMNS)[number]
type Cell = string | number | boolean | null | undefined

/** Column name → position: rows are built as arrays (objects with computed keys are slow at a million rows). */
const COL = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, i])) as Record<CsvColumn, number>

/** Columns whose text comes from the traced processes: a leading = + - @ is defused for spreadsheets. */
const UNTRUSTED: ReadonlySet<CsvColumn> = new Set(['from_comm', 'to_comm', 'reaper_comm', 'child_comm', 'filename', 'from_pod', 'to_pod', 'host'])
const UNTRUSTED_FLAGS = CSV_COLUMNS.map((c) => UNTRUSTED.has(c))

export function csvField(value: Cell, untrusted = false): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  let s = value
  // A cell starting with these is a formula to Excel/LibreOffice: a process may name itself "=cmd|…".
  if (untrusted && /^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function csvLine(values: ReadonlyArray<Cell>, untrusted?: ReadonlyArray<boolean>): string {
  let line = ''
  for (let i = 0; i < values.length; i++) line += (i ? ',' : '') + csvField(values[i], untrusted?.[i] ?? false)
  return `${line}\r\n`
}

export function csvHeader(): string {
  return csvLine([...CSV_COLUMNS])
}

/** Turns records into rows, keeping the file's sandbox records to name each process's pod. */
export class CsvExporter {
  header?: HeaderRecord
  private sandboxes = new Map<string, SandboxRecord>()
  rows = 0

  /** The CSV line of a record, or undefined for records that are not rows (header, sandbox, footer). */
  push(rec: TraceRecord): string | undefined {
    if (rec.type === 'header') {
      this.header ??= rec
      return undefined
    }
    if (rec.type === 'sandbox') {
      this.sandboxes.set(rec.id, rec)
      return undefined
    }
    if (rec.type !== 'lost' && rec.type !== 'event') return undefined
    const row: Cell[] = new Array<Cell>(CSV_COLUMNS.length)
    row[COL.host] = this.header?.host
    if (rec.type === 'lost') {
      row[COL.time_s] = seconds(rec.t)
      row[COL.kind] = 'lost'
      row[COL.count] = rec.count
      row[COL.detail] = rec.source
    } else this.eventRow(rec, row)
    this.rows++
    return csvLine(row, UNTRUSTED_FLAGS)
  }

  private pod(p: ProcRef): string | undefined {
    const sb = p.sandbox ? this.sandboxes.get(p.sandbox) : undefined
    if (!sb?.pod) return undefined
    return sb.pod.namespace ? `${sb.pod.namespace}/${sb.pod.name}` : sb.pod.name
  }

  private side(row: Cell[], prefix: 'from' | 'to', p: ProcRef | undefined): void {
    if (!p) return
    const at = prefix === 'from' ? COL.from_pid : COL.to_pid
    // from_pid, from_inner_pid, from_comm, from_sandbox, from_pod (and the same for to_)
    row[at] = p.pid
    row[at + 1] = p.innerPid
    row[at + 2] = p.comm
    row[at + 3] = p.sandbox
    row[at + 4] = this.pod(p)
  }

  private eventRow(e: Extract<TraceRecord, {type: 'event'}>, row: Cell[]): void {
    row[COL.time_s] = seconds(e.t)
    row[COL.ts] = e.ts
    row[COL.kind] = e.kind
    switch (e.kind) {
      case 'signal':
        this.side(row, 'from', e.from)
        this.side(row, 'to', e.to)
        row[COL.signal] = e.signame
        row[COL.sig] = e.sig
        row[COL.via] = e.via
        row[COL.result] = e.result
        row[COL.ret] = e.ret
        row[COL.errno] = e.errno
        row[COL.code] = e.code
        row[COL.target] = formatTarget(e.target) || undefined
        if ((e as {incomplete?: boolean}).incomplete) row[COL.detail] = 'incomplete'
        return
      case 'flood':
        this.side(row, 'from', e.from)
        this.side(row, 'to', e.to)
        row[COL.signal] = e.signame
        row[COL.sig] = e.sig
        row[COL.via] = 'flood'
        row[COL.count] = e.count
        row[COL.detail] = `${e.of === 'deliver' ? 'deliveries' : 'signals'} counted since ${seconds(e.sinceT)} s`
        return
      case 'deliver':
        this.side(row, 'to', e.proc)
        row[COL.signal] = e.signame
        row[COL.sig] = e.sig
        row[COL.handler] = e.handler
        return
      case 'exit':
        this.side(row, 'from', e.proc)
        row[COL.exit_code] = e.code
        row[COL.exit_signal] = e.signal !== undefined ? signalName(e.signal) : undefined
        row[COL.core] = e.core
        row[COL.group_dead] = e.groupDead
        row[COL.status] = e.signal !== undefined ? `killed by ${signalName(e.signal)}${e.core ? ' (core dumped)' : ''}` : `exited ${e.code}`
        row[COL.detail] = e.how
        return
      case 'reap': {
        const s = e.status
        this.side(row, 'from', e.reaper)
        this.side(row, 'to', e.child)
        row[COL.reaper_pid] = e.reaper.pid
        row[COL.reaper_comm] = e.reaper.comm
        row[COL.child_pid] = e.child.pid
        row[COL.child_inner_pid] = e.child.innerPid
        row[COL.child_comm] = e.child.comm
        row[COL.status] = formatStatus(s)
        if ('exited' in s) row[COL.exit_code] = s.exited
        if ('signaled' in s) {
          row[COL.exit_signal] = signalName(s.signaled)
          row[COL.core] = s.core
        }
        if ('stopped' in s) row[COL.exit_signal] = signalName(s.stopped)
        row[COL.syscall] = e.syscall
        row[COL.options] = e.options?.join('|')
        row[COL.status_from] = e.statusFrom
        return
      }
      case 'fork':
        this.side(row, 'from', e.parent)
        this.side(row, 'to', e.child)
        row[COL.child_pid] = e.child.pid
        row[COL.child_comm] = e.child.comm
        row[COL.thread] = e.thread
        if (e.thread) row[COL.detail] = `tid ${e.child.tid ?? '?'}`
        return
      case 'exec':
        this.side(row, 'from', e.proc)
        row[COL.filename] = e.filename
        return
      default:
        return
    }
  }
}

function seconds(ns: number): string {
  return (ns / 1e9).toFixed(9)
}
