// What an exercise asks of a runtime: sandboxes whose PID 1 is an infra process, containers in
// them (sharing the sandbox's PID namespace or with their own), commands run inside a container,
// and a cleanup that removes everything by id and says what, if anything, is left.
import type {CommandLog} from './exec.js'
import type {ProcIdentity} from './procs.js'

export const RUNTIMES = ['namespaces', 'podman', 'cri'] as const

// The CRI runtime's constants live here, not in runtime-cri.ts: the exercises name them, and
// every command's start imports the exercises (lab's argument help), which must not load zx.
/** every lab pod is in this Kubernetes namespace (its containerd is the lab's own) */
export const CRI_LAB_NAMESPACE = 'pausetrace-lab'
/**
 * The grace period the kubelet step gives a running container of a dead sandbox: the kubelet's
 * minimum (minimumGracePeriodInSeconds), so the runtime's SIGTERM and its SIGKILL both show.
 */
export const KUBELET_GRACE_SECONDS = 2
export type RuntimeName = (typeof RUNTIMES)[number]

export interface LabSandbox {
  /** the exercise's name for it ("shared", "own"…) */
  name: string
  /** containers join the infra process's PID namespace (shareProcessNamespace: true) */
  sharePid: boolean
  /** host PID of the infra process, PID 1 of the sandbox's PID namespace */
  pausePid: number
  /** "pause" (the lab's own, also the cri runtime's sandbox image) or "catatonit" (podman's) */
  pauseComm: string
  /** the process that started the infra process and will reap it */
  parentPid: number
  parentComm: string
  /** the id pausetrace gives the sandbox: `netns:<inode>` */
  sandboxId: string
  ns: {net: number; ipc: number; uts: number; pid: number}
  /** podman's pod id, or the CRI's pod sandbox id; undefined for bare namespaces */
  podId?: string
}

export interface LabContainer {
  name: string
  sandbox: LabSandbox
  /** host PID of the container's first process (after its exec) */
  pid: number
  /** its PID namespace is its own (not the sandbox's) */
  ownPidNs: boolean
  /** the process that reaps the container's first process */
  parentPid: number
  parentComm: string
  pidns: number
  /** podman's or the CRI's container id */
  ctrId?: string
}

/** Something the lab made, so the cleanup (and a test) can check it is gone, by id. */
export type Made =
  | {what: 'process'; pid: number; start: string; comm: string}
  | {what: 'pod'; id: string; name: string}
  /** a CRI pod sandbox (the cri runtime's private containerd) */
  | {what: 'sandbox'; id: string; name: string}
  | {what: 'container'; id: string; name: string}
  | {what: 'namespace'; type: 'net' | 'ipc' | 'uts' | 'pid' | 'mnt'; inode: number}
  | {what: 'directory'; path: string}
  | {what: 'mount'; path: string}
  | {what: 'link'; name: string}
  | {what: 'cgroup'; path: string}

export interface Leftover {
  made: Made
  why: string
  /** how to remove it by hand */
  fix: string
}

/** A sandbox the runtime's kubelet found dead and ran again (attempt + 1), with its containers. */
export interface Resynced {
  old: LabSandbox
  sandbox: LabSandbox
  attempt: number
  containers: LabContainer[]
}

export interface LabRuntime {
  readonly name: RuntimeName
  /** checks what this runtime needs and prepares its files; throws EnvironmentError with the fix */
  prepare(): Promise<void>
  createSandbox(name: string, opts: {sharePid: boolean}): Promise<LabSandbox>
  /** starts `cmd` as a container of the sandbox; resolves once it has exec'd */
  runContainer(sb: LabSandbox, name: string, cmd: string[]): Promise<LabContainer>
  /** runs a command inside a container's namespaces and waits for it; returns its stdout and the PID that ran it */
  execIn(ctr: LabContainer, cmd: string[]): Promise<{pid: number; stdout: string}>
  /**
   * A kubelet's sync loop, once, where the runtime has one (cri): every sandbox found dead is
   * stopped and run again with attempt + 1, its containers started again.
   */
  resync?(): Promise<Resynced[]>
  /** the CRI socket the live trace asks to name the pods, where the runtime has one (after prepare) */
  readonly criSocket?: string
  /** everything made so far, by id */
  made(): Made[]
  /**
   * Removes everything it made (by id), and the lab's other processes `found` in its namespaces;
   * resolves once they are gone (or a time limit passed) with what the runtime itself knows is
   * left (pods, containers, their mounts). Processes, namespaces and directories are checked by
   * the caller (leftovers.ts).
   */
  cleanup(found: readonly ProcIdentity[]): Promise<Leftover[]>
}

export interface RuntimeOptions {
  /** told each command line the runtime runs, for narration */
  log: CommandLog
  signal: AbortSignal
}
