// Pod identity from the directory names under kubelet's pod log root (`/var/log/pods`, kubelet
// `podLogsDir`): `<namespace>_<name>_<uid>`. It names a pod UID's namespace and name without the API
// server. Pure: the caller lists the directory. Sources: test/fixtures/cgroup/README.md.

export interface PodLogDir {
  namespace: string
  name: string
  /** the pod UID as the cgroup path carries it: a UUID, or kubelet's 32-hex config hash for a static pod */
  uid: string
}

// Namespaces are DNS-1123 labels and pod names DNS-1123 subdomains, so neither can hold `_`.
const LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/
const SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
// Static (file or URL) pods: kubelet gives them their config hash as UID; the API server's mirror pod
// has a different UID, but cgroups and this directory use the hash.
const CONFIG_HASH = /^[0-9a-f]{32}$/

/**
 * `default_segfaulter_aaaa2b4a-f398-41c0-928b-049e1cc4ec40` → {namespace, name, uid}; null for anything
 * else, including the pre-1.14 layout that named the directory after the UID alone. A trailing slash or
 * leading path is tolerated: only the last component is read.
 */
export function parsePodLogDir(name: string): PodLogDir | null {
  if (typeof name !== 'string') return null
  const base = name.replace(/\/+$/, '').split('/').pop() ?? ''
  const parts = base.split('_')
  if (parts.length !== 3) return null
  const [namespace, pod, uid] = parts
  if (namespace.length > 63 || !LABEL.test(namespace)) return null
  if (pod.length > 253 || !SUBDOMAIN.test(pod)) return null
  if (!UUID.test(uid) && !CONFIG_HASH.test(uid)) return null
  return {namespace, name: pod, uid}
}

/** UID → pod, from a directory listing; names that are not pod log directories are skipped. */
export function indexPodLogDirs(names: string[]): Map<string, PodLogDir> {
  const index = new Map<string, PodLogDir>()
  if (!Array.isArray(names)) return index
  for (const n of names) {
    const dir = parsePodLogDir(n)
    if (dir && !index.has(dir.uid)) index.set(dir.uid, dir)
  }
  return index
}
