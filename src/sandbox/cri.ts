// Reads `crictl inspectp -o json` and `crictl pods -o json` output (containerd and CRI-O). Pure: the
// caller runs crictl and hands over the parsed JSON (or its text). Unexpected shapes give null or are
// skipped, never thrown on. Samples and their sources: test/fixtures/cri/README.md.
import {fromText, obj, positivePid, str, type Obj} from './json.js'

export interface CriSandbox {
  id: string
  name: string | null
  namespace: string | null
  uid: string | null
  /** host PID of the sandbox's infra (pause) process; null when the runtime does not say or says 0 */
  pid: number | null
  /** `SANDBOX_READY` or `SANDBOX_NOTREADY` */
  state: string | null
  runtimeHandler?: string
  /** as crictl printed it: RFC 3339 from `inspectp` */
  createdAt?: string
  /** which runtime answered, when the verbose info tells */
  runtime?: 'containerd' | 'cri-o'
  /** the OCI spec's cgroupsPath (`<slice>:<prefix>:<id>` under systemd, a path under cgroupfs) */
  cgroupsPath?: string
}

export interface CriPodListItem {
  id: string
  name: string | null
  namespace: string | null
  uid: string | null
  state: string | null
  /** as crictl printed it: nanoseconds since the epoch, as a decimal string */
  createdAt: string | null
}

/** Metadata first, kubelet's `io.kubernetes.pod.*` labels as the fallback. */
function identity(status: Obj): {name: string | null; namespace: string | null; uid: string | null} {
  const meta = obj(status.metadata) ?? {}
  const labels = obj(status.labels) ?? {}
  return {
    name: str(meta.name) ?? str(labels['io.kubernetes.pod.name']),
    namespace: str(meta.namespace) ?? str(labels['io.kubernetes.pod.namespace']),
    uid: str(meta.uid) ?? str(labels['io.kubernetes.pod.uid']),
  }
}

/**
 * `crictl inspectp -o json <id>`. The pause PID is `info.pid` for both containerd and CRI-O; CRI-O
 * leaves it out when it runs the sandbox without an infra container (`drop_infra_ctr`), and containerd
 * reports 0 once the sandbox process is gone. Both give pid null.
 */
export function parseInspectp(json: unknown): CriSandbox | null {
  const root = obj(fromText(json))
  const status = root ? obj(root.status) : null
  const id = status ? str(status.id) : null
  if (!root || !status || !id) return null

  // crictl turns each verbose-info value into JSON when it can; an old one may leave it a string.
  let info = obj(fromText(root.info))
  if (info && Object.keys(info).length === 1 && typeof info.info === 'string') info = obj(fromText(info.info))
  info ??= {}

  const pid = positivePid(info.pid)
  const out: CriSandbox = {id, ...identity(status), pid, state: str(status.state)}

  const handler = typeof status.runtimeHandler === 'string' ? status.runtimeHandler : info.runtimeHandler
  if (typeof handler === 'string') out.runtimeHandler = handler
  const createdAt = str(status.createdAt)
  if (createdAt) out.createdAt = createdAt

  const spec = obj(info.runtimeSpec)
  const annotations = obj(spec?.annotations) ?? {}
  // containerd's SandboxInfo has processStatus/runtimeType/snapshotKey; CRI-O's info is {image, pid, runtimeSpec}.
  if (
    typeof info.processStatus === 'string' ||
    typeof info.runtimeType === 'string' ||
    typeof info.snapshotKey === 'string' ||
    'io.kubernetes.cri.container-type' in annotations
  ) {
    out.runtime = 'containerd'
  } else if ('io.kubernetes.cri-o.ContainerType' in annotations || annotations['io.container.manager'] === 'cri-o') {
    out.runtime = 'cri-o'
  }
  const cgroupsPath = str(obj(spec?.linux)?.cgroupsPath)
  if (cgroupsPath) out.cgroupsPath = cgroupsPath
  return out
}

/** `crictl pods -o json` (`{"items": [...]}`); items without an id are skipped. */
export function parseCrictlPods(json: unknown): CriPodListItem[] {
  const root = fromText(json)
  const items = Array.isArray(root) ? root : obj(root)?.items
  if (!Array.isArray(items)) return []
  const out: CriPodListItem[] = []
  for (const item of items) {
    const o = obj(item)
    const id = o ? str(o.id) : null
    if (!o || !id) continue
    const createdAt = typeof o.createdAt === 'number' && Number.isFinite(o.createdAt) ? String(o.createdAt) : str(o.createdAt)
    out.push({id, ...identity(o), state: str(o.state), createdAt})
  }
  return out
}
