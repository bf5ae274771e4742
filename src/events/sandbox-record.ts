// Sandbox records of one id in a stream: a later one may know less than an earlier one (a pod
// not named yet, or a dying sandbox's last look once its pause is gone).
import type {SandboxRecord} from './types.js'

/** The record as the readers of a stream take it: one without a pod keeps the pod (and runtime) named before. */
export function withKnownPod(r: SandboxRecord, earlier: SandboxRecord | undefined): SandboxRecord {
  return !r.pod && earlier?.pod ? {...r, pod: earlier.pod, runtime: earlier.runtime} : r
}
