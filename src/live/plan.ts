// The bpftrace invocation of a live trace: the program built for this kernel, this bpftrace and the
// filters, its command line and its environment. The session runs it; the benchmark runs exactly it.
import os from 'node:os'
import path from 'node:path'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {buildScript, type Scope} from '../probe/script.js'
import {bpftraceEnv, hasRawTracepoints, kernelHasPidFlexArray, needsTraceableFunctions, traceableFunctions, usesArgsDot, type BpftraceInfo} from '../probe/bpftrace.js'
import {tracefsPath} from '../probe/environment.js'
import {eventsLauncher, eventsView, eventsViewUsable, findUnshare, SHELL, type Launcher} from '../probe/events-view.js'
import {bpftraceArgs, BpftraceRunner} from '../probe/runner.js'
import {nsInode, onlineCpus} from '../proc/read.js'
import {EnvironmentError} from '../errors.js'
import type {Filters} from '../events/filter.js'

export interface PlanOptions {
  bpftrace: BpftraceInfo
  filters: Pick<Filters, 'all' | 'pids' | 'signals'>
  /** tasks in sandboxes at the start (default scope), from a /proc snapshot */
  sandboxSeed?: number[]
  /** the struct pid layout to read (default: what this kernel's release says) */
  pidFlexArray?: boolean
  /** read signal targets through rawtracepoint:signal_generate (default: where this bpftrace can) */
  rawSignalGenerate?: boolean
  kernelRelease?: string
  /** run bpftrace 0.17–0.20 with a narrowed available_events (default true; src/probe/events-view.ts) */
  eventsView?: boolean
}

export interface TracePlan {
  command: string
  program: string
  /** positional parameters after $1: $2 = the host's net namespace */
  params: string[]
  /** options before the program (--traceable-functions FILE) */
  extraArgs: string[]
  /** the whole command line after the command (bpftraceArgs) */
  args: string[]
  env: NodeJS.ProcessEnv
  /** what runs bpftrace (its command and arguments go after these), when it runs in a narrowed view of tracefs */
  launcher?: Launcher
  pidFlexArray: boolean
  rawSignalGenerate: boolean
  /** Removes the temporary file the arguments may name; bpftrace has read it once attached. */
  cleanup(): void
}

export function planTrace(opts: PlanOptions): TracePlan {
  const {bpftrace, filters} = opts
  const pidFlexArray = opts.pidFlexArray ?? kernelHasPidFlexArray(opts.kernelRelease ?? os.release())
  const rawSignalGenerate = opts.rawSignalGenerate ?? hasRawTracepoints(bpftrace)
  const hostNetns = nsInode('self', 'net')
  if (!filters.all && filters.pids.length === 0 && hostNetns === 0) {
    throw new EnvironmentError('cannot read /proc/self/ns/net, so sandboxes cannot be told from the host; pass --all or --pid.', 'NO_NETNS')
  }
  const scope: Scope = filters.all ? {kind: 'all'} : filters.pids.length > 0 ? {kind: 'pids', pids: filters.pids} : {kind: 'sandboxes', seed: opts.sandboxSeed ?? []}
  const program = buildScript({argsDot: usesArgsDot(bpftrace), pidFlexArray, rawSignalGenerate, scope, signals: filters.signals, cpus: onlineCpus()})
  const extraArgs: string[] = []
  let tempDir: string | undefined
  const tempFile = (name: string, text: string): string => {
    tempDir ??= mkdtempSync(path.join(os.tmpdir(), 'pausetrace-'))
    const file = path.join(tempDir, name)
    writeFileSync(file, text, {mode: 0o600, flag: 'wx'})
    return file
  }
  const tracefs = tracefsPath()
  const functions = traceableFunctions(program)
  if (functions.length > 0 && needsTraceableFunctions(bpftrace, tracefs)) {
    extraArgs.push('--traceable-functions', tempFile('traceable-functions', `${functions.join('\n')}\n`))
  }
  let launcher: Launcher | undefined
  const unshare = findUnshare()
  if (opts.eventsView !== false && tracefs && unshare && eventsViewUsable({bpftrace, tracefs, unshare, shell: existsSync(SHELL)})) {
    launcher = eventsLauncher(unshare, tempFile('available_events', eventsView(program, tracefs)))
  }
  const params = [String(hostNetns)]
  return {
    command: bpftrace.command,
    program,
    params,
    extraArgs,
    args: bpftraceArgs({program, params, extraArgs}),
    env: bpftraceEnv(bpftrace),
    launcher,
    pidFlexArray,
    rawSignalGenerate,
    cleanup() {
      if (tempDir) rmSync(tempDir, {recursive: true, force: true})
      tempDir = undefined
    },
  }
}

/** bpftrace started from a plan before the code that reads its output is loaded. */
export interface PrestartedTrace {
  plan: TracePlan
  runner: BpftraceRunner
}

/**
 * Starts bpftrace now, its output held until a TraceSession attaches to it (release()): where the
 * program needs nothing from /proc (--all, --pid), it compiles while the trace's code is imported.
 */
export function prestartTrace(opts: PlanOptions): PrestartedTrace {
  const plan = planTrace(opts)
  const runner = new BpftraceRunner({command: plan.command, launcher: plan.launcher, program: plan.program, params: plan.params, extraArgs: plan.extraArgs, env: plan.env})
  runner.start({hold: true})
  return {plan, runner}
}
