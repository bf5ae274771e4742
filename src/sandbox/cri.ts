// Reads `crictl pods -o json` output (containerd and CRI-O). Pure: the
// caller runs crictl and hands over the parsed JSON (or its text). Unexpected shapes give null or are
// skipped, never thrown on. Samples and their sources: test/fixtures/cri/README.md.
import {fromText, obj, str, type Obj} from './json.js'

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
