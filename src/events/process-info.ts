// What is known of a task (a thread and its process), and the lookups the pure core may ask of
// the live system. Sandbox code classifies and resolves tasks in these terms (src/sandbox/).
import type {Role} from './types.js'

/** Identity and namespaces of a task: what every line reads in the kernel, and what /proc shows. */
interface TaskIdentity {
  tid: number
  /** the process (thread group) id, host PID namespace */
  pid: number
  /** inode of its PID namespace; level 0 is the host's */
  pidns: number
  level: number
  netns: number
  ipcns: number
  utsns: number
  mntns: number
  /** 0 when not known (read from /proc) */
  cgroupId: number
  ppid: number
}

/** A line's task as read in the kernel at the event (the actor fields of bpf/README.md). */
export interface Actor extends TaskIdentity {
  /** its TID and PID inside its own PID namespace (equal to tid and pid at level 0) */
  innerTid: number
  innerPid: number
}

/** What is known of a task: from its own lines, from its parent's fork, or from /proc. */
export interface ProcInfo extends TaskIdentity {
  comm: string
  /** its PID inside its own PID namespace; null when not known (a forked child before its own line) */
  innerPid: number | null
}

/** Lookups the pure core may ask of the live system (absent on replay and in unit tests). */
export interface ProcResolver {
  /** a task not seen in any line yet (bpftrace 0.17 cannot read a signal's target in the kernel) */
  task(tid: number): ProcInfo | undefined
  /** a task's name now (cheaper than `task`: one small file) */
  comm?(tid: number): string | undefined
  /** the host PID of a process known by its PID inside a namespace (exited before the trace began) */
  hostPid(pidns: number, innerPid: number): number | undefined
  /** the wait status a zombie present at the start will report */
  zombieStatus(hostPid: number): number | undefined
}

/** Which sandbox a task belongs to and its role there (src/sandbox/registry.ts). */
export interface Classifier {
  /** `container`: the container's name, where the runtime names it */
  classify(info: ProcInfo): {sandbox: string | null; role: Role; container?: string}
}
