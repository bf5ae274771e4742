// Reads /proc/PID/cgroup text (cgroup v1, v2 or hybrid) and finds the Kubernetes pod or podman
// pod a task belongs to from its cgroup path alone. Pure: the caller reads the file.
// Samples and their sources: test/fixtures/cgroup/README.md.

export interface CgroupLine {
  /** hierarchy id: 0 for the v2 (unified) line, >0 for v1 hierarchies */
  hierarchyId: number
  /** v1 controllers of the hierarchy (`cpu,cpuacct` → ['cpu','cpuacct'], `name=systemd` kept as is); [] for v2 */
  controllers: string[]
  version: 1 | 2
  /** path as printed: relative to the reader's cgroup namespace root, so it may start with `/..` */
  path: string
  /** v2 only: the kernel appends " (deleted)" once the cgroup of a not yet reaped zombie is removed */
  deleted: boolean
}

export type PodQos = 'guaranteed' | 'burstable' | 'besteffort'
export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'podman'

export interface CgroupPod {
  /** who made the pod: a kubelet (`kubepods…`) or podman (`libpod_parent/<id>`, `…libpod_pod_<id>.slice`) */
  runtime: 'kubernetes' | 'podman' | null
  /** Kubernetes pod UID, dashed (systemd's `_` undone). Static pods carry kubelet's 32-hex config hash, kept as is */
  podUid: string | null
  qos: PodQos | null
  containerId: string | null
  containerRuntime: ContainerRuntime | null
  podmanPodId: string | null
  /** the task sits in the runtime monitor's cgroup (`crio-conmon-<id>`, `libpod-conmon-<id>`), not the container's */
  conmon: boolean
}

const LINE = /^(\d+):([^:]*):(.*)$/
const DELETED = ' (deleted)'

/** Parse /proc/PID/cgroup. Lines that are not `ID:CONTROLLERS:PATH` are skipped, never thrown on. */
export function parseProcCgroup(text: string): CgroupLine[] {
  if (typeof text !== 'string') return []
  const out: CgroupLine[] = []
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    // A path may itself hold ':' (`…slice:cri-containerd:<id>` under the cgroupfs driver), so split on the first two only.
    const m = LINE.exec(line)
    if (!m) continue
    const hierarchyId = Number(m[1])
    const ctrl = m[2]
    let path = m[3]
    let deleted = false
    if (path.endsWith(DELETED)) {
      deleted = true
      path = path.slice(0, -DELETED.length)
    }
    if (path !== '' && !path.startsWith('/')) continue
    const version = hierarchyId === 0 && ctrl === '' ? 2 : 1
    out.push({hierarchyId, controllers: ctrl === '' ? [] : ctrl.split(','), version, path, deleted})
  }
  return out
}

const HEX64 = /^[0-9a-f]{64}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const CONFIG_HASH = /^[0-9a-f]{32}$/

/** Pod UID in its dashed form, or null if it is neither a UUID nor a static pod's config hash. */
function normaliseUid(raw: string): string | null {
  const uid = raw.toLowerCase().replaceAll('_', '-')
  return UUID.test(uid) || CONFIG_HASH.test(uid) ? uid : null
}

// systemd driver: `kubepods-pod<uid_>.slice`, `kubepods-<qos>-pod<uid_>.slice`, with a parent slice's name
// prefixed when kubelet's cgroupRoot is not the root (kind: `kubelet-kubepods-…`).
const SYSTEMD_POD = /^(?:[A-Za-z0-9_.]+-)*kubepods(?:-(burstable|besteffort))?-pod([0-9a-fA-F_]+)\.slice$/
// cgroupfs driver: `pod<uid>` under `kubepods[/<qos>]`
const CGROUPFS_POD = /^pod([0-9a-fA-F-]+)$/
// `<slice>:<prefix>:<id>`, the systemd-style cgroupsPath used as a literal directory name when the runtime runs
// the cgroupfs driver while kubelet runs systemd's (seen nested under /system.slice/containerd.service).
const SLICE_TRIPLE = /^([^:]+\.slice):([^:]+):([^:]+)$/
const PODMAN_SYSTEMD_POD = /^(?:[A-Za-z0-9_.]+-)?libpod_pod_([0-9a-f]{64})\.slice$/

interface Leaf {
  containerId: string
  containerRuntime: ContainerRuntime | null
  conmon: boolean
}

/** The container cgroup directly below a pod cgroup (or anywhere, for podman's own scopes). */
function leafOf(seg: string | undefined): Leaf | null {
  if (seg === undefined) return null
  const name = seg.endsWith('.scope') ? seg.slice(0, -'.scope'.length) : seg
  const prefixed: Array<[string, ContainerRuntime, boolean]> = [
    ['cri-containerd-', 'containerd', false],
    ['crio-conmon-', 'cri-o', true],
    ['crio-', 'cri-o', false],
    ['docker-', 'docker', false],
    ['libpod-conmon-', 'podman', true],
    ['libpod-payload-', 'podman', false],
    ['libpod-', 'podman', false],
  ]
  for (const [prefix, containerRuntime, conmon] of prefixed) {
    if (name.startsWith(prefix)) {
      const id = name.slice(prefix.length)
      return HEX64.test(id) ? {containerId: id, containerRuntime, conmon} : null
    }
  }
  // cgroupfs driver, containerd or dockershim: the bare id says nothing about the runtime
  return HEX64.test(name) ? {containerId: name, containerRuntime: null, conmon: false} : null
}

function runtimeOfPrefix(prefix: string): ContainerRuntime | null {
  if (prefix === 'cri-containerd') return 'containerd'
  if (prefix === 'crio') return 'cri-o'
  if (prefix === 'docker') return 'docker'
  return null
}

function empty(): CgroupPod {
  return {runtime: null, podUid: null, qos: null, containerId: null, containerRuntime: null, podmanPodId: null, conmon: false}
}

function withLeaf(pod: CgroupPod, leaf: Leaf | null): CgroupPod {
  return leaf ? {...pod, ...leaf} : pod
}

/**
 * The pod (and container) a single cgroup path names. Works on any path that holds the pod's cgroup:
 * a /proc/PID/cgroup path, a path seen from inside another cgroup namespace (`/../../kubepods…`), a
 * /sys/fs/cgroup directory, a systemd ControlGroup, or the same tree nested under a kind or minikube
 * node's own cgroup (`/docker/<id>/kubepods.slice/…`, `/kubelet.slice/kubelet-kubepods.slice/…`).
 */
export function podFromCgroupPath(path: string): CgroupPod {
  if (typeof path !== 'string') return empty()
  const segs = path.split('/').filter((s) => s !== '' && s !== '.' && s !== '..')

  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]

    const triple = SLICE_TRIPLE.exec(seg)
    if (triple) {
      const pod = SYSTEMD_POD.exec(triple[1])
      const uid = pod ? normaliseUid(pod[2]) : null
      if (pod && uid) {
        const id = triple[3]
        return {
          ...empty(),
          runtime: 'kubernetes',
          podUid: uid,
          qos: (pod[1] as PodQos | undefined) ?? 'guaranteed',
          containerId: HEX64.test(id) ? id : null,
          containerRuntime: HEX64.test(id) ? runtimeOfPrefix(triple[2]) : null,
        }
      }
    }

    const sd = SYSTEMD_POD.exec(seg)
    if (sd) {
      const uid = normaliseUid(sd[2])
      if (uid) {
        const pod = {...empty(), runtime: 'kubernetes' as const, podUid: uid, qos: (sd[1] as PodQos | undefined) ?? 'guaranteed'}
        return withLeaf(pod, leafOf(segs[i + 1]))
      }
    }

    const fs = CGROUPFS_POD.exec(seg)
    if (fs && i > 0) {
      const parent = segs[i - 1]
      const qos: PodQos | null =
        parent === 'kubepods' ? 'guaranteed' : (parent === 'burstable' || parent === 'besteffort') && segs[i - 2] === 'kubepods' ? parent : null
      const uid = normaliseUid(fs[1])
      // systemd's escaping never applies here: a `_` would mean this is not a cgroupfs pod directory
      if (qos && uid && !fs[1].includes('_')) {
        return withLeaf({...empty(), runtime: 'kubernetes', podUid: uid, qos}, leafOf(segs[i + 1]))
      }
    }

    if (seg === 'libpod_parent' && segs[i + 1] !== undefined && HEX64.test(segs[i + 1])) {
      return withLeaf({...empty(), runtime: 'podman', podmanPodId: segs[i + 1]}, leafOf(segs[i + 2]))
    }

    const pp = PODMAN_SYSTEMD_POD.exec(seg)
    if (pp) return withLeaf({...empty(), runtime: 'podman', podmanPodId: pp[1]}, leafOf(segs[i + 1]))
  }

  // A container outside any pod: podman's own scopes (`machine.slice/libpod-<id>.scope`, cgroupfs
  // `/libpod_parent/libpod-<id>`) or dockerd's systemd scope.
  for (const seg of segs) {
    const leaf = leafOf(seg)
    if (leaf && leaf.containerRuntime !== null) return withLeaf(empty(), leaf)
  }
  return empty()
}

function score(p: CgroupPod): number {
  return (p.runtime ? 4 : 0) + (p.containerId ? 2 : 0) + (p.podUid || p.podmanPodId ? 1 : 0)
}

/**
 * The pod a task belongs to, from all its /proc/PID/cgroup lines. The unified line is tried first, then
 * `name=systemd`, then the other v1 lines; the richest answer wins. (v1 lines of an exiting task read "/",
 * and controller hierarchies may be mounted elsewhere, so no single line is always right.)
 */
export function podFromCgroup(lines: CgroupLine[]): CgroupPod {
  if (!Array.isArray(lines)) return empty()
  const order = (l: CgroupLine): number => (l.version === 2 ? 0 : l.controllers.includes('name=systemd') ? 1 : 2)
  const sorted = lines
    .filter((l) => l !== null && typeof l === 'object' && typeof l.path === 'string')
    .sort((a, b) => order(a) - order(b))
  let best = empty()
  for (const line of sorted) {
    const found = podFromCgroupPath(line.path)
    if (score(found) > score(best)) best = found
  }
  return best
}
