// `bpftrace --version` (~25 ms of a child process) started as soon as a tracing command has parsed
// its flags and their values, so that it runs while the trace's code is imported instead of after.
// LiveRun.open still awaits it after its own checks, so the errors keep their order (no privileges
// before no bpftrace), and a check that fails waits for it to end: nothing outlives the command.
import {bpftraceInfo, type BpftraceInfo} from '../probe/bpftrace.js'

export function probeBpftraceEarly(flag?: string): Promise<BpftraceInfo> {
  const probe = bpftraceInfo(flag)
  // a failure is reported where it is awaited, not as an unhandled rejection before that
  probe.catch(() => undefined)
  return probe
}
