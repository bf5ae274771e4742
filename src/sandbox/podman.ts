// Reads `podman ps -a --format json` and `podman pod inspect` output. Pure: the caller runs podman.
// Unexpected shapes give null or are skipped, never thrown on. Samples: test/fixtures/podman/ and
// test/fixtures/podman-parsers/ (README there).
import {fromText, obj, positivePid, str, type Obj} from './json.js'

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

export interface PodmanPod {
  id: string
  name: string | null
  infraContainerId: string | null
  /** `/libpod_parent/<id>` (cgroupfs) or `machine.slice/machine-libpod_pod_<id>.slice` (systemd) */
  cgroupPath: string | null
  /** namespaces the pod's containers share with the infra container: `ipc`, `net`, `uts`, `pid`, `cgroup`, … */
  sharedNamespaces: string[]
  /** `Running`, `Created`, `Degraded`, `Exited`, …; null from podman 1.x, which had no pod state */
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

const LEGACY_SHARES: Array<[string, string]> = [
  ['sharesCgroup', 'cgroup'],
  ['sharesIpc', 'ipc'],
  ['sharesNet', 'net'],
  ['sharesMnt', 'mnt'],
  ['sharesPid', 'pid'],
  ['sharesUser', 'user'],
  ['sharesUts', 'uts'],
]

/**
 * `podman pod inspect <pod>`: one object (podman 4.x), a one-element array (podman 5), or the
 * `{Config, State}` shape of podman 1.x. For an array, the first pod is returned.
 */
export function parsePodInspect(json: unknown): PodmanPod | null {
  let root = fromText(json)
  if (Array.isArray(root)) root = root[0]
  const o = obj(root)
  if (!o) return null

  const id = str(o.Id)
  if (id) {
    const shared = Array.isArray(o.SharedNamespaces) ? o.SharedNamespaces.filter((s): s is string => typeof s === 'string' && s !== '') : []
    return {
      id,
      name: str(o.Name),
      infraContainerId: str(o.InfraContainerID),
      cgroupPath: str(o.CgroupPath),
      sharedNamespaces: shared,
      state: str(o.State),
    }
  }

  // podman 1.x: {"Config": {"id", "name", "sharesNet", …}, "State": {"cgroupPath", "infraContainerID"}}
  const config = obj(o.Config)
  const state = obj(o.State)
  const legacyId = config ? str(config.id) : null
  if (!config || !legacyId) return null
  return {
    id: legacyId,
    name: str(config.name),
    infraContainerId: state ? str(state.infraContainerID) : null,
    cgroupPath: state ? str(state.cgroupPath) : null,
    sharedNamespaces: LEGACY_SHARES.filter(([key]) => config[key] === true).map(([, ns]) => ns),
    state: null,
  }
}
