// The trace file's format (docs/trace-format.md): its name and version (format-name.ts), the header that opens every file and
// the footer that closes it (fields in one fixed order, so files are byte-for-byte comparable), and
// which format versions this build reads. A format change is made here, with the schema.
import {TRACE_FORMAT, TRACE_FORMAT_VERSION} from './format-name.js'
import type {FooterRecord, HeaderRecord} from './types.js'

export {TRACE_FORMAT, TRACE_FORMAT_VERSION}

export type HeaderFields = Omit<HeaderRecord, 'type' | 'format' | 'version'>
export type FooterFields = Omit<FooterRecord, 'type'>

export function traceHeader(f: HeaderFields): HeaderRecord {
  const h: HeaderRecord = {
    type: 'header', format: TRACE_FORMAT, version: TRACE_FORMAT_VERSION, host: f.host, kernel: f.kernel, bpftrace: f.bpftrace,
    startedAt: f.startedAt, filters: f.filters, argv: f.argv,
  }
  if (f.signalTargets !== undefined) h.signalTargets = f.signalTargets
  return h
}

export function traceFooter(f: FooterFields): FooterRecord {
  const r: FooterRecord = {type: 'footer', endedAt: f.endedAt, events: f.events, lost: f.lost, reason: f.reason}
  if (f.kinds !== undefined) r.kinds = f.kinds
  if (f.flooded !== undefined) r.flooded = f.flooded
  if (f.outOfOrder !== undefined) r.outOfOrder = f.outOfOrder
  return r
}

/**
 * What a first record says about its file: a header of this format in a version this build reads
 * ('ok'), not a header of this format at all, a header without a usable version, or a newer one.
 */
export function headerVerdict(rec: {type?: unknown; format?: unknown; version?: unknown}): 'ok' | 'not-this-format' | 'no-version' | 'newer' {
  if (rec.type !== 'header' || rec.format !== TRACE_FORMAT) return 'not-this-format'
  if (typeof rec.version !== 'number' || !Number.isInteger(rec.version) || rec.version < 1) return 'no-version'
  return rec.version > TRACE_FORMAT_VERSION ? 'newer' : 'ok'
}
