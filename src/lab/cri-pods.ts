// Drives a CRI runtime the way a kubelet does, for the lab and the tests: a pod sandbox from a
// pod's name, namespace, UID and attempt, with the kubelet's namespace options; containers in it
// that repeat those options; and their host PIDs from the runtime's verbose status.
import type {CriCaller} from '../sandbox/cri-client.js'
import {parseContainerPid, parsePodStatus} from '../sandbox/cri.js'
import {LAB_IMAGE} from './containerd.js'

export interface PodSpec {
  name: string
  namespace: string
  uid: string
  attempt?: number
  /** shareProcessNamespace: true (containers join the pause's PID namespace) */
  sharePid?: boolean
  /** hostNetwork: true (the node's network namespace, no CNI) */
  hostNetwork?: boolean
  /** the kubelet passes kubepods/…/pod<UID>; the lab passes its own, to remove it by name */
  cgroupParent: string
}

export interface RunningPod {
  id: string
  spec: PodSpec
  /** the PodSandboxConfig, which CreateContainer repeats */
  config: object
  pausePid: number
}

export interface RunningContainer {
  id: string
  name: string
  pod: RunningPod
  pid: number
}

function namespaceOptions(spec: PodSpec): object {
  return {network: spec.hostNetwork ? 'NODE' : 'POD', pid: spec.sharePid ? 'POD' : 'CONTAINER', ipc: 'POD'}
}

/** Pure: the PodSandboxConfig a kubelet would send for this pod. */
export function podSandboxConfig(spec: PodSpec): object {
  return {
    metadata: {name: spec.name, namespace: spec.namespace, uid: spec.uid, attempt: spec.attempt ?? 0},
    hostname: spec.hostNetwork ? '' : spec.name,
    labels: {'io.kubernetes.pod.name': spec.name, 'io.kubernetes.pod.namespace': spec.namespace, 'io.kubernetes.pod.uid': spec.uid},
    linux: {cgroupParent: spec.cgroupParent, securityContext: {namespaceOptions: namespaceOptions(spec)}},
  }
}

/** Pure: the ContainerConfig of a container running `cmd` from the lab's busybox image. */
export function containerConfig(spec: PodSpec, name: string, cmd: string[], attempt = 0): object {
  return {
    metadata: {name, attempt},
    image: {image: LAB_IMAGE},
    command: cmd.slice(0, 1),
    args: cmd.slice(1),
    envs: [{key: 'PATH', value: Buffer.from('/bin')}],
    labels: {'io.kubernetes.container.name': name, 'io.kubernetes.pod.name': spec.name, 'io.kubernetes.pod.namespace': spec.namespace, 'io.kubernetes.pod.uid': spec.uid},
    linux: {securityContext: {namespaceOptions: namespaceOptions(spec)}},
  }
}

/** RunPodSandbox, then its status: resolves once the pause runs, with its host PID. */
export async function runPod(cri: CriCaller, spec: PodSpec, deadlineMs = 60_000): Promise<RunningPod> {
  const config = podSandboxConfig(spec)
  const {podSandboxId: id} = (await cri.call('RunPodSandbox', {config}, deadlineMs)) as {podSandboxId: string}
  const status = parsePodStatus(await cri.call('PodSandboxStatus', {podSandboxId: id, verbose: true}))
  if (!status?.pod.pid) throw new Error(`pod ${spec.namespace}/${spec.name}: the runtime gave no pause PID for sandbox ${id}`)
  return {id, spec, config, pausePid: status.pod.pid}
}

/**
 * CreateContainer and StartContainer: resolves with the container's host PID. `attempt`: the
 * kubelet's restart count (a container started again after its sandbox was re-created gets 1: the
 * runtime reserves its name per attempt, and the old one may not be removed yet).
 */
export async function runContainer(cri: CriCaller, pod: RunningPod, name: string, cmd: string[], deadlineMs = 60_000, attempt = 0): Promise<RunningContainer> {
  const {containerId: id} = (await cri.call('CreateContainer', {podSandboxId: pod.id, config: containerConfig(pod.spec, name, cmd, attempt), sandboxConfig: pod.config}, deadlineMs)) as {containerId: string}
  await cri.call('StartContainer', {containerId: id}, deadlineMs)
  const pid = parseContainerPid(await cri.call('ContainerStatus', {containerId: id, verbose: true}))
  if (!pid) throw new Error(`container ${name} of ${pod.spec.namespace}/${pod.spec.name}: the runtime gave no PID`)
  return {id, name, pod, pid}
}

/** StopContainer with a grace period in seconds (the stop signal, then SIGKILL), then RemoveContainer. */
export async function removeContainer(cri: CriCaller, ctr: RunningContainer, graceSeconds = 0): Promise<void> {
  await cri.call('StopContainer', {containerId: ctr.id, timeout: graceSeconds}, (graceSeconds + 30) * 1000)
  await cri.call('RemoveContainer', {containerId: ctr.id}, 30_000)
}

/** StopPodSandbox (its containers and network too), then RemovePodSandbox. */
export async function removePod(cri: CriCaller, pod: RunningPod): Promise<void> {
  await cri.call('StopPodSandbox', {podSandboxId: pod.id}, 60_000)
  await cri.call('RemovePodSandbox', {podSandboxId: pod.id}, 60_000)
}
