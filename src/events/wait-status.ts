// Wait statuses as the kernel reports them → the trace's WaitStatus: the int that wait4 writes
// (and a task's exit_code, and /proc/PID/stat's exit code field), and waitid's siginfo.
import type {WaitStatus} from './types.js'

/** A wait4 status word (the layout of WIFEXITED, WIFSTOPPED, WIFCONTINUED, WIFSIGNALED). */
export function fromWaitStatus(s: number): WaitStatus {
  const low = s & 0x7f
  if (low === 0) return {exited: (s >> 8) & 0xff}
  if ((s & 0xff) === 0x7f) return {stopped: (s >> 8) & 0xff}
  if ((s & 0xffff) === 0xffff) return {continued: true}
  return {signaled: low, core: (s & 0x80) !== 0}
}

/** waitid's si_code (CLD_EXITED … CLD_CONTINUED) and si_status; undefined when no child was reported. */
export function fromSiginfo(code: number, status: number): WaitStatus | undefined {
  switch (code) {
    case 1:
      return {exited: status & 0xff}
    case 2:
      return {signaled: status, core: false}
    case 3:
      return {signaled: status, core: true}
    case 4:
    case 5:
      return {stopped: status}
    case 6:
      return {continued: true}
    default:
      return undefined
  }
}
