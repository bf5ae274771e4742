// The container runtime's own processes (runc and its init stages, crun, containerd's shims,
// podman's conmon): marked on every process reference, so that views can fold away the events
// they exchange among themselves around each container start while the trace keeps them.
import {procsOf} from './filter.js'
import type {TraceEvent} from './types.js'

// comm is cut to 15 bytes by the kernel: containerd-shim-runc-v2 is "containerd-shim"; runc's
// init stages rename themselves "runc:[0:PARENT]", "runc:[1:CHILD]", "runc:[2:INIT]".
const RUNTIME_COMM = /^(runc|runc:\[.*|crun|conmon|containerd-shim.*)$/

export function isRuntimeComm(comm: string): boolean {
  return RUNTIME_COMM.test(comm)
}

/**
 * Runtime noise: an event whose every process is the runtime's own (runc:[2:INIT] threads sending
 * each other SIGURG, then SIGKILLed as the container's process execs). A runtime's signal to a
 * container's process (its SIGTERM, its SIGKILL), or a shim's reap of one, is not noise.
 */
export function isRuntimeNoise(e: TraceEvent): boolean {
  return procsOf(e).every((p) => p.runtime === true)
}

/** Counts the runtime noise a view leaves out, unless asked to show it. */
export class RuntimeNoiseFold {
  hidden = 0

  constructor(private readonly show = false) {}

  /** Whether to leave this record out of the view (an event of runtime noise, when folded). */
  hides(r: {type: string}): boolean {
    if (this.show || r.type !== 'event' || !isRuntimeNoise(r as TraceEvent)) return false
    this.hidden++
    return true
  }

  /** The line that says what was left out, or undefined when nothing was. */
  notice(): string | undefined {
    if (this.hidden === 0) return undefined
    return `pausetrace: ${this.hidden} event${this.hidden === 1 ? '' : 's'} among the container runtime's own processes (runc, containerd-shim, conmon, crun) not shown; --runtime-noise shows them (the trace file keeps them).`
  }
}
