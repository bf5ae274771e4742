// Reads `podman ps -a --format json` output. Pure: the caller runs podman.
// Unexpected shapes give null or are skipped, never thrown on. Samples: test/fixtures/podman/ and
// test/fixtures/podman-parsers/ (README there).
import {fromText, obj, positivePid, str} from './json.js'

export interface PodmanContainer {
  id: string
  name: string | null
  /** host PID of the container's first process; null while it is not running (podman prints 0) */
  pid: number | null
  podId: string | null
  /** podman 4.3 fills PodName only under `podman ps --pod`; without it the field is "" and this is null */
  podName: string | null
  isInfra: boolean
  /** `running`, `created`, `exited`, … as podman prints it */
  state: string | null
}

/** `podman ps -a --format json`: one entry per container; entries without an Id are skipped. */
export function parsePodmanPs(json: unknown): PodmanContainer[] {
  const list = fromText(json)
  if (!Array.isArray(list)) return []
  const out: PodmanContainer[] = []
  for (const item of list) {
    const o = obj(item)
    const id = o ? str(o.Id) : null
    if (!o || !id) continue
    // Names is a list in podman ≥ 2; podman 1.x printed one string.
    const name = Array.isArray(o.Names) ? str(o.Names[0]) : str(o.Names)
    const pid = positivePid(o.Pid)
    out.push({id, name, pid, podId: str(o.Pod), podName: str(o.PodName), isInfra: o.IsInfra === true, state: str(o.State)})
  }
  return out
}
