// How the lab runs things. One-shot steps go through zx, every value interpolated as its own
// quoted argument (never pasted into a command string). Processes that must outlive the step
// (a sandbox's launcher, a container) are spawned without a shell, so their PIDs are theirs, and
// under `setpriv --pdeathsig KILL`, so they die with pausetrace even if it is SIGKILLed.
import {spawn, type ChildProcess} from 'node:child_process'
import path from 'node:path'
import {$, quote} from 'zx/core'
import {AbortedError, identify, type ProcIdentity} from './procs.js'
import {findOnPath} from '../util/which.js'

export type CommandLog = (argv: string[]) => void

/** A command line as a person would type it (for narration only; nothing runs it). */
export function displayCommand(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : quote(a))).join(' ')
}

export interface StepOptions {
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  signal?: AbortSignal
  /** stdin text */
  input?: string
}

export interface StepResult {
  /** PID of the process that ran the command (the shell zx started, which exec'd it when `exec` was asked) */
  pid: number
  stdout: string
  stderr: string
  code: number | null
}

/** Runs `cmd args…` through zx and waits; throws with stderr when it fails. */
export async function runStep(cmd: string, args: string[], opts: StepOptions = {}): Promise<StepResult> {
  const r = await runStepNoThrow(cmd, args, opts)
  if (r.code !== 0) throw new Error(`${displayCommand([path.basename(cmd), ...args])} failed (exit ${r.code ?? 'by signal'}): ${r.stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`)
  return r
}

/**
 * Like runStep, but returns whatever happened. With `exec: true` the shell replaces itself with
 * the command, so `pid` is the command's own PID (what the trace shows as the sender).
 */
export async function runStepNoThrow(cmd: string, args: string[], opts: StepOptions & {exec?: boolean} = {}): Promise<StepResult> {
  if (opts.signal?.aborted) throw new AbortedError()
  // detached: a Ctrl-C at the terminal reaches pausetrace alone, which finishes the step, then cleans up.
  const shell = $({env: opts.env ?? process.env, quiet: true, verbose: false, nothrow: true, detached: true, timeout: opts.timeoutMs ?? 60_000, input: opts.input})
  const p = opts.exec ? shell`exec ${cmd} ${args}` : shell`${cmd} ${args}`
  const onAbort = (): void => void p.kill('SIGKILL').catch(() => undefined)
  opts.signal?.addEventListener('abort', onAbort, {once: true})
  try {
    const out = await p
    if (opts.signal?.aborted) throw new AbortedError()
    return {pid: p.pid ?? 0, stdout: out.stdout, stderr: out.stderr, code: out.exitCode}
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
  }
}

export interface LongLived {
  child: ChildProcess
  /** PID of the launcher (setpriv exec'd the command in place: the command's PID) */
  pid: number
  identity: ProcIdentity | undefined
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  done: () => boolean
  stdout: () => string
  stderr: () => string
}

/** Spawns `setpriv --pdeathsig KILL -- cmd args…` without a shell, in its own process group (Ctrl-C reaches pausetrace only). */
export function spawnLongLived(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): LongLived {
  const setpriv = findOnPath('setpriv') ?? '/usr/bin/setpriv'
  const child = spawn(setpriv, ['--pdeathsig', 'KILL', '--', cmd, ...args], {stdio: ['ignore', 'pipe', 'pipe'], env, detached: true})
  let out = ''
  let err = ''
  let finished = false
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()))
  child.on('error', (e) => (err += e.message))
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) =>
    child.on('close', (code, signal) => {
      finished = true
      resolve({code, signal})
    }),
  )
  const pid = child.pid ?? 0
  return {child, pid, identity: identify(pid, displayCommand([cmd, ...args])), exited, done: () => finished, stdout: () => out, stderr: () => err}
}
