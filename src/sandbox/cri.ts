// What a CRI runtime says about its pods: the decoded answers of runtime.v1.RuntimeService
// (cri-client.ts) read into pods and containers with their host PIDs. The parsers are pure and
// take `unknown`: unexpected shapes give null or are skipped, never thrown on. Recorded answers
// and how to re-record them: test/fixtures/cri-grpc/README.md.
import {fromText, obj, positivePid, str, type Obj} from './json.js'
import type {CriCaller} from './cri-client.js'
import type {SandboxRecord} from '../events/types.js'

export interface CriVersion {
  /** as the runtime names itself: "containerd", "cri-o", "docker" (cri-dockerd) */
  runtimeName: string
  runtimeVersion: string
  /** the CRI version it speaks, "v1" */
  runtimeApiVersion: string
}

export interface CriContainer {
  id: string
  podSandboxId: string
  name: string
  attempt: number
  /** CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_EXITED, CONTAINER_UNKNOWN */
  state: string
  /** host PID of the container's first process; null until asked, or when not running */
  pid: number | null
}

export interface CriPod {
  id: string
  name: string
  namespace: string
  uid: string
  attempt: number
  ready: boolean
  /** nanoseconds since the epoch, as a decimal string */
  createdAt: string
  /**
   * host PID of the sandbox's infra (pause) process; null when the runtime runs none or says 0.
   * A sandbox no longer ready keeps the PID its pause had while it was (when this look saw it).
   */
  pid: number | null
  /** the pod uses the node's network namespace (CRI `network: NODE`); null until its status is read */
  hostNetwork: boolean | null
  containers: CriContainer[]
}

export interface CriSnapshot {
  runtime: SandboxRecord['runtime']
  version: CriVersion
  pods: CriPod[]
}

/** The sandbox record's `runtime` for a CRI runtime's own name. */
export function runtimeOf(runtimeName: string): SandboxRecord['runtime'] {
  const n = runtimeName.toLowerCase()
  if (n === 'containerd') return 'containerd'
  if (n === 'cri-o' || n === 'crio') return 'cri-o'
  if (n === 'docker' || n === 'cri-dockerd') return 'docker'
  return 'kubernetes'
}

function count(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : v
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : 0
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : ''
}

export function parseVersion(resp: unknown): CriVersion | null {
  const o = obj(resp)
  const runtimeName = o ? str(o.runtimeName) : null
  if (!o || !runtimeName) return null
  return {runtimeName, runtimeVersion: text(o.runtimeVersion), runtimeApiVersion: text(o.runtimeApiVersion)}
}

function podOf(o: Obj): Omit<CriPod, 'pid' | 'hostNetwork' | 'containers'> | null {
  const id = str(o.id)
  if (!id) return null
  const meta = obj(o.metadata) ?? {}
  return {
    id, name: text(meta.name), namespace: text(meta.namespace), uid: text(meta.uid), attempt: count(meta.attempt),
    ready: o.state === 'SANDBOX_READY', createdAt: text(o.createdAt),
  }
}

/** ListPodSandbox: every sandbox, ready or not; items without an id are skipped. */
export function parsePodList(resp: unknown): CriPod[] {
  const items = obj(resp)?.items
  if (!Array.isArray(items)) return []
  const out: CriPod[] = []
  for (const item of items) {
    const o = obj(item)
    const p = o ? podOf(o) : null
    if (p) out.push({...p, pid: null, hostNetwork: null, containers: []})
  }
  return out
}

/**
 * The runtime's verbose `info` map as one object. containerd and CRI-O put one JSON document
 * under the key "info" (containerd's SandboxInfo/ContainerInfo; CRI-O's {image, pid, runtimeSpec});
 * other keys, if any, are read as JSON where they parse.
 */
export function verboseInfo(info: unknown): Obj {
  const m = obj(info)
  if (!m) return {}
  const inner = obj(fromText(m.info))
  if (inner) return inner
  const out: Obj = {}
  for (const [k, v] of Object.entries(m)) out[k] = fromText(v) ?? v
  return out
}

/**
 * PodSandboxStatus (verbose): the pause's host PID from `info.pid` (containerd reports 0 once the
 * process is gone; CRI-O leaves `pid` out when it runs the pod without an infra process,
 * `drop_infra_ctr`: both give null), and whether the pod is on the node's network.
 */
export function parsePodStatus(resp: unknown): {pod: Omit<CriPod, 'containers'>} | null {
  const root = obj(resp)
  const status = root ? obj(root.status) : null
  const base = status ? podOf(status) : null
  if (!root || !status || !base) return null
  const options = obj(obj(obj(obj(status.linux)?.namespaces)?.options))
  const hostNetwork = options ? options.network === 'NODE' : null
  return {pod: {...base, pid: positivePid(verboseInfo(root.info).pid), hostNetwork}}
}

/** ListContainers: every container; items without an id are skipped. */
export function parseContainerList(resp: unknown): CriContainer[] {
  const list = obj(resp)?.containers
  if (!Array.isArray(list)) return []
  const out: CriContainer[] = []
  for (const item of list) {
    const o = obj(item)
    const id = o ? str(o.id) : null
    if (!o || !id) continue
    const meta = obj(o.metadata) ?? {}
    out.push({id, podSandboxId: text(o.podSandboxId), name: text(meta.name), attempt: count(meta.attempt), state: text(o.state), pid: null})
  }
  return out
}

/** ContainerStatus (verbose): the container's first process, `info.pid` (0 or absent: null). */
export function parseContainerPid(resp: unknown): number | null {
  return positivePid(verboseInfo(obj(resp)?.info).pid)
}

/** What is asked once per id: a running sandbox's or container's PID does not change. */
export interface CriCache {
  pods: Map<string, Omit<CriPod, 'containers'>>
  containerPids: Map<string, number>
}

export function newCriCache(): CriCache {
  return {pods: new Map(), containerPids: new Map()}
}

/**
 * One look at the runtime: its version, every sandbox with its pause PID and network mode, every
 * container with its PID. Status calls go out together and only for ids not seen before; a status
 * that fails leaves that pod or container without a PID rather than failing the look. List calls
 * that fail reject (the caller keeps its last answer).
 */
export async function criSnapshot(cri: CriCaller, cache: CriCache = newCriCache(), version?: CriVersion): Promise<CriSnapshot> {
  const v = version ?? parseVersion(await cri.call('Version', {version: 'v1'}))
  if (!v) throw new Error('Version: the runtime did not name itself')
  const [pods, containers] = await Promise.all([
    cri.call('ListPodSandbox', {}).then(parsePodList),
    cri.call('ListContainers', {}).then(parseContainerList),
  ])
  const seen = new Set([...pods.map((p) => p.id), ...containers.map((c) => c.id)])
  for (const id of cache.pods.keys()) if (!seen.has(id)) cache.pods.delete(id)
  for (const id of cache.containerPids.keys()) if (!seen.has(id)) cache.containerPids.delete(id)

  await Promise.all([
    ...pods.filter((p) => p.ready && !cache.pods.has(p.id)).map(async (p) => {
      const s = parsePodStatus(await cri.call('PodSandboxStatus', {podSandboxId: p.id, verbose: true}).catch(() => null))
      // kept only once the pause is known: a sandbox still starting is asked again next time
      if (s && s.pod.pid !== null) cache.pods.set(p.id, s.pod)
    }),
    ...containers.filter((c) => c.state === 'CONTAINER_RUNNING' && !cache.containerPids.has(c.id)).map(async (c) => {
      const pid = parseContainerPid(await cri.call('ContainerStatus', {containerId: c.id, verbose: true}).catch(() => null))
      if (pid !== null) cache.containerPids.set(c.id, pid)
    }),
  ])

  // A sandbox whose pause died (NOTREADY) keeps the PID and network mode it had: the last events
  // of its processes must still be named after its pod. Only ready ones are grouped (criRuntimePods).
  const out: CriPod[] = pods.map((p) => {
    const known = cache.pods.get(p.id)
    return {...p, pid: known?.pid ?? null, hostNetwork: known?.hostNetwork ?? null, containers: []}
  })
  const byId = new Map(out.map((p) => [p.id, p]))
  for (const c of containers) {
    const pid = c.state === 'CONTAINER_RUNNING' ? cache.containerPids.get(c.id) ?? null : null
    byId.get(c.podSandboxId)?.containers.push({...c, pid})
  }
  return {runtime: runtimeOf(v.runtimeName), version: v, pods: out}
}
