// A wait4/waitid line (W) → its reap event. The child is named by its host PID: wait4 and waitid
// in a PID namespace return the PID inside it, translated through the process table. Its status
// comes from the call's own pointer, or, when the reaper passed none (Kubernetes' pause), from the
// child's exit. When either is not known yet, says what the reap waits for (held-reaps.ts).
import type {EventTime} from './event-time.js'
import type {WaitKey, WaitLine} from './held-reaps.js'
import type {ProcInfo} from './process-info.js'
import type {ProcessTable} from './process-table.js'
import {waitOptionNames} from './names.js'
import type {ProcRef, ReapEvent, WaitStatus} from './types.js'
import {fromSiginfo, fromWaitStatus} from './wait-status.js'

/**
 * The reap event of a W line, or what it waits for. A child reaped for good (exited or killed) is
 * told to the process table, which frees its status and inner PID.
 */
export function reapEvent(t: number, w: WaitLine, reaper: ProcInfo, processes: ProcessTable, time: EventTime): ReapEvent | WaitKey {
  const syscall = w.syscall === 4 ? 'wait4' : 'waitid'
  const nsPid = syscall === 'wait4' ? w.ret : w.siPid
  const hostPid = w.actor.level === 0 ? nsPid : processes.hostPid(w.actor.pidns, nsPid)
  if (hostPid === undefined) return {kind: 'host-pid', pidns: w.actor.pidns, innerPid: nsPid}
  let status: WaitStatus | undefined
  let statusFrom: ReapEvent['statusFrom'] = 'wait'
  if (syscall === 'waitid') status = fromSiginfo(w.siCode, w.siStatus)
  else if (w.status !== -1) status = fromWaitStatus(w.status)
  else {
    statusFrom = 'exit'
    const x = processes.exitStatus(hostPid)
    if (x !== undefined) status = fromWaitStatus(x)
  }
  if (!status) return {kind: 'exit-status', hostPid}
  const childInfo = processes.known(hostPid)
  const child: ProcRef = childInfo
    ? processes.procRef(childInfo)
    : {pid: hostPid, tid: hostPid, comm: '', innerPid: w.actor.level === 0 ? null : nsPid, sandbox: null, role: 'host'}
  if (w.actor.level > 0 && child.innerPid === null) child.innerPid = nsPid
  const ev: ReapEvent = {type: 'event', kind: 'reap', t, ts: time.iso(t), reaper: processes.procRef(reaper), child, syscall, status, statusFrom}
  // -1: the call began before the probes attached; its options are unknown
  if (w.options !== -1) ev.options = waitOptionNames(w.options, syscall)
  if ('exited' in status || 'signaled' in status) processes.reaped(hostPid, childInfo)
  return ev
}
