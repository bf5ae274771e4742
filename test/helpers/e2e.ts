// End-to-end helpers: the root/bpftrace gate (never a skip under CI=true), the bpftrace
// versions to test, and running the built CLI (bin/run.js) as a child process.
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import path from 'node:path'
import type {Context} from 'mocha'
import {childrenOf as childrenOfProc, readText} from '../../src/proc/read.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const CLI = path.join(ROOT, 'bin/run.js')
export const CI = process.env.CI === 'true'

/** Skips (loudly) off CI when the machine cannot trace; fails under CI=true. */
export function requireTracing(ctx: Context): void {
  const why = process.geteuid?.() !== 0 ? 'not running as root' : !existsSync('/sys/kernel/tracing/events/signal') ? 'tracefs is not mounted' : undefined
  if (!why) return
  if (CI) throw new Error(`end-to-end test cannot run under CI=true: ${why}`)
  console.warn(`    SKIPPED (${why}): end-to-end tests need root, bpftrace and tracefs`)
  ctx.skip()
}

/** Skips (loudly) off CI when tmux is missing; fails under CI=true (the test command installs it). */
export function requireTmux(ctx: Context): void {
  if (['/usr/bin/tmux', '/bin/tmux', '/usr/local/bin/tmux'].some((p) => existsSync(p))) return
  if (CI) throw new Error('tmux is missing: scripts/provision.sh --tests installs it')
  console.warn('    SKIPPED: tmux is not installed (sudo scripts/provision.sh --tests installs it)')
  ctx.skip()
}

export interface BpftraceUnderTest {
  label: string
  command: string
}

export const CI_ROOT = process.env.PAUSETRACE_CI_ROOT ?? '/var/cache/pausetrace-ci'

/** promtool, unpacked from Debian's prometheus package by scripts/provision.sh --tests (never installed). */
export const PROMTOOL = path.join(CI_ROOT, 'promtool/usr/bin/promtool')

/** Skips (loudly) off CI when promtool is not unpacked; fails under CI=true. */
export function requirePromtool(ctx: Context): void {
  if (existsSync(PROMTOOL)) return
  if (CI) throw new Error(`promtool missing at ${PROMTOOL}: scripts/provision.sh --tests unpacks it`)
  console.warn(`    SKIPPED: promtool missing at ${PROMTOOL}; sudo scripts/provision.sh --tests unpacks it`)
  ctx.skip()
}

/** bpftrace 0.17 from the machine and 0.23 / 0.27 from the chroots of scripts/provision.sh --bpftrace-versions. */
export const BPFTRACES: BpftraceUnderTest[] = [
  {label: '0.17 (system)', command: '/usr/bin/bpftrace'},
  {label: '0.23 (trixie chroot)', command: path.join(CI_ROOT, 'bpftrace-trixie')},
  {label: '0.27 (sid chroot)', command: path.join(CI_ROOT, 'bpftrace-sid')},
]

export function requireBpftrace(ctx: Context, b: BpftraceUnderTest): void {
  if (existsSync(b.command)) return
  if (CI) throw new Error(`bpftrace ${b.label} is missing at ${b.command}: under CI=true, npm test's pretest (scripts/provision.sh --tests) builds it`)
  console.warn(`    SKIPPED: bpftrace ${b.label} not installed at ${b.command}; to test it: sudo scripts/provision.sh --bpftrace-versions`)
  ctx.skip()
}

export interface CliRun {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
}

const running = new Set<ChildProcess>()

/** `stdout`: a file descriptor for the CLI's standard output (then `stdout()` stays empty); default a pipe. */
export function runCli(args: string[], opts: {env?: NodeJS.ProcessEnv; cwd?: string; argv0?: string[]; stdout?: number} = {}): CliRun {
  const child = spawn(opts.argv0?.[0] ?? process.execPath, [...(opts.argv0?.slice(1) ?? []), CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: {...process.env, ...opts.env},
    stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'],
  })
  running.add(child)
  let out = ''
  let err = ''
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child)
      resolve({code, signal})
    })
  })
  return {child, stdout: () => out, stderr: () => err, exited}
}

/** Kills (by PID) every CLI child a test started and did not see exit. */
export function killLeftovers(): void {
  for (const c of running) c.kill('SIGKILL')
}

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** True once the file holds at least one whole line (the header). */
export function hasFirstLine(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').includes('\n')
  } catch {
    return false
  }
}

export function readRecords(file: string): Array<Record<string, any>> {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>)
}

/** Direct children of a process, from /proc. */
export {childrenOf} from '../../src/proc/read.js'

/** The bpftrace children of a pausetrace process (its other children come and go: podman, perl). */
export function bpftraceChildren(pid: number): number[] {
  return childrenOfProc(pid).filter((c) => readText(`/proc/${c}/comm`)?.trim() === 'bpftrace')
}
