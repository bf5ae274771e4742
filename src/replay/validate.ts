// The shape every record of a trace file must have (the required fields of the schema of
// docs/trace-format.md), checked on reading: a line that parses as JSON but lacks them is a bad line,
// counted and skipped, so nothing downstream meets a half record.
import {TRACE_FORMAT} from '../events/format.js'

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)
const isStr = (v: unknown): v is string => typeof v === 'string'

function isProc(v: unknown): boolean {
  return isObj(v) && isInt(v.pid) && isStr(v.comm) && (v.sandbox === null || isStr(v.sandbox)) && (v.role === 'pause' || v.role === 'container' || v.role === 'host') &&
    (v.innerPid === undefined || v.innerPid === null || isInt(v.innerPid)) && (v.tid === undefined || isInt(v.tid))
}

function isStatus(v: unknown): boolean {
  if (!isObj(v)) return false
  return isInt(v.exited) || (isInt(v.signaled) && typeof v.core === 'boolean') || isInt(v.stopped) || v.continued === true
}

function isEvent(r: Obj): boolean {
  if (!isInt(r.t) || !isStr(r.ts)) return false
  switch (r.kind) {
    case 'signal':
      return isInt(r.sig) && isStr(r.signame) && isStr(r.via) && isProc(r.from) && (r.to === undefined || isProc(r.to)) && (r.target === undefined || isObj(r.target))
    case 'deliver':
      return isProc(r.proc) && isInt(r.sig) && isStr(r.signame) && isStr(r.handler)
    case 'exit':
      return isProc(r.proc) && (isInt(r.code) || isInt(r.signal))
    case 'reap':
      return isProc(r.reaper) && isProc(r.child) && isStr(r.syscall) && isStatus(r.status) && (r.options === undefined || (Array.isArray(r.options) && r.options.every(isStr)))
    case 'fork':
      return isProc(r.parent) && isProc(r.child)
    case 'exec':
      return isProc(r.proc) && isStr(r.filename)
    case 'flood':
      return isProc(r.from) && isProc(r.to) && isInt(r.sig) && isStr(r.signame) && isInt(r.count) && isInt(r.sinceT)
    default:
      return false
  }
}

export function isValidRecord(r: unknown): boolean {
  if (!isObj(r)) return false
  switch (r.type) {
    case 'header':
      return r.format === TRACE_FORMAT && isInt(r.version) && isStr(r.host) && isStr(r.startedAt)
    case 'sandbox':
      return isStr(r.id) && isStr(r.runtime) && (r.pod === null || (isObj(r.pod) && isStr(r.pod.name))) && (r.pausePid === null || isInt(r.pausePid)) &&
        Array.isArray(r.sharedNamespaces) && typeof r.sharedPidNamespace === 'boolean' && isObj(r.ns)
    case 'event':
      return isEvent(r)
    case 'lost':
      return isInt(r.t) && isInt(r.count)
    case 'footer':
      return isStr(r.endedAt) && isInt(r.events) && isInt(r.lost) && isStr(r.reason)
    default:
      return false
  }
}
