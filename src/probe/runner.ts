// Runs bpftrace as a child process: starts it with the program, drains its stdout (never
// stopping while it is busy: a reader that stops makes bpftrace lose events; while it trickles,
// what it wrote is taken in batches), knows when every
// probe is attached (the BEGIN marker, not attached_probes), stops it without losing what was
// generated (in-program exit, then SIGINT twice, then SIGKILL, each with a deadline), and never
// leaves it running.
import {spawn, type ChildProcess} from 'node:child_process'
import {EventEmitter} from 'node:events'
import {isBenignStderr} from './bpftrace.js'
import type {Launcher} from './events-view.js'

export interface RunnerOptions {
  command: string
  /** runs bpftrace in place (exec: the PID stays bpftrace's), e.g. in a narrowed view of tracefs */
  launcher?: Launcher
  program: string
  /** positional parameters after $1 (which is always our own PID) */
  params?: string[]
  /** options before the program (e.g. --traceable-functions FILE) */
  extraArgs?: string[]
  env: NodeJS.ProcessEnv
  /** ms to wait at each stop step (in-program exit, SIGINT, SIGINT again) before the next */
  stopStepMs?: number
}


/**
 * Batches while bpftrace's output trickles: a take of less than COALESCE_BELOW bytes, while less
 * than COALESCE_RATE bytes came in the last second, stops reading for COALESCE_MS; then all that
 * came is taken in one piece. A quiet node's lines are decoded a batch per wake-up instead of one
 * per wake-up. A fast stream never waits that long: once COALESCE_RATE came within a second, a
 * small take waits FAST_PAUSE_MS at most, a large one not at all (an earlier version judged each
 * read alone: small and large reads alternating under `watch` paused a fast stream for 40 ms at a
 * time until bpftrace lost events). What node reads is a socket (libuv makes a child's stdio
 * "pipes" as socket pairs) that holds ~200 KiB of kernel buffers, about 1 KiB for each line that
 * bpftrace 0.17 writes on its own; during a wait at most COALESCE_RATE × COALESCE_MS (25 KiB,
 * ~140 lines) is expected in it. When it is full bpftrace waits, and its own buffers (1–8 MiB
 * per CPU, or one ring) hold seconds. The reorder window holds every line longer anyway.
 */
const COALESCE_BELOW = 16 * 1024
const COALESCE_RATE = 256 * 1024
const COALESCE_MS = 100
/**
 * A fast stream taken in small pieces (the reader keeps up: bpftrace 0.17 writes each line on its
 * own, and node woke for every second line of the million stream, ~470k reads of ~340 bytes)
 * gathers for 1 ms after a small take: ~44k reads, node 10.5 → 7.2 µs/event, bpftrace 0.27
 * 8.7 → 7.2 (bench/README.md). At 70k lines/s 1 ms is ~12 KB, well within what the socket to
 * bpftrace holds, and bpftrace's own buffers hold seconds; a reader that is behind takes large
 * pieces and never pauses.
 */
const FAST_PAUSE_MS = 1
/** the input's rate is counted over the last second in slots of this many ms */
const RATE_SLOT_MS = 100
const RATE_SLOTS = 10

/** ms to wait at each step of the stop, by default */
export const STOP_STEP_MS = 3000

/**
 * bpftrace's command line, after the command: options, the program, then its positional
 * parameters. $1 is our own PID: the stop trigger and the watchdog key on it, and every probe skips it.
 */
export function bpftraceArgs(o: {program: string; params?: string[]; extraArgs?: string[]}, selfPid = process.pid): string[] {
  return ['--no-warnings', ...(o.extraArgs ?? []), '-f', 'json', '-e', o.program, String(selfPid), ...(o.params ?? [])]
}

/** A running bpftrace (or a wrapper that passes signals on to it), as stopBpftrace sees it. */
export interface StopTarget {
  /** resolves once the process has exited */
  exited: Promise<unknown>
  signal(sig: NodeJS.Signals): void
}

/**
 * The stop protocol, for a bpftrace started with bpftraceArgs from this process: kill(our PID, 0)
 * makes the program stop producing and print its counts; `drained` resolves once everything
 * produced has been read; a second kill(our PID, 0) makes it exit(). Then SIGINT, SIGINT again
 * (0.17 can miss one), SIGKILL, each step with a deadline of `stepMs`. Resolves once it has exited.
 */
export async function stopBpftrace(target: StopTarget, drained: () => Promise<void> = async () => undefined, stepMs = STOP_STEP_MS): Promise<void> {
  let exited = false
  const gone = target.exited.then(() => {
    exited = true
  })
  const ask = (): void => {
    process.kill(process.pid, 0)
  }
  try {
    ask()
  } catch {
    // cannot fail for our own PID
  }
  await Promise.race([drained(), gone, delay(stepMs)])
  const steps: Array<() => void> = [ask, () => target.signal('SIGINT'), () => target.signal('SIGINT'), () => target.signal('SIGKILL')]
  for (const act of steps) {
    if (exited) break
    try {
      act()
    } catch {
      // the child is already gone
    }
    const done = await Promise.race([gone.then(() => true), delay(stepMs).then(() => false)])
    if (done) break
  }
  await gone
}

export interface RunnerExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** true when pausetrace asked it to stop */
  requested: boolean
  stderrTail: string
}

const live = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL')
      } catch {
        // already gone
      }
    }
  })
}

export class BpftraceRunner extends EventEmitter {
  private child?: ChildProcess
  private stderrLines: string[] = []
  private stopRequested = false
  /** set while reading waits (coalescing): the next take is due then */
  private takeTimer?: NodeJS.Timeout
  /** batches while the output trickles, once asked (coalesce()) */
  private coalescing = false
  /** bytes taken per RATE_SLOT_MS over the last second, a ring (the input's rate) */
  private readonly slots = new Float64Array(RATE_SLOTS)
  private slot = 0
  /** times reading waited (coalesce()) */
  waits = 0
  /** how many times reading stopped for FAST_PAUSE_MS after a small take of a fast stream */
  fastWaits = 0
  private exitInfo?: RunnerExit
  private exited: Promise<RunnerExit>
  private resolveExit!: (e: RunnerExit) => void
  /** output and exit kept until release() (a runner started before its reader is ready) */
  private held?: Array<['data', Buffer] | ['exit', RunnerExit]>

  constructor(private readonly opts: RunnerOptions) {
    super()
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve
    })
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  /**
   * Starts bpftrace. 'data' events carry stdout chunks; 'exit' fires once with a RunnerExit.
   * `hold`: nothing is emitted until release() (its reader is still being loaded); wait() and
   * stop() work as usual meanwhile.
   */
  start(opts: {hold?: boolean} = {}): void {
    if (opts.hold) this.held = []
    installExitHook()
    const {launcher} = this.opts
    const args = bpftraceArgs(this.opts)
    const child = spawn(launcher ? launcher.command : this.opts.command, launcher ? [...launcher.args, this.opts.command, ...args] : args, {
      env: this.opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group: a Ctrl-C at the terminal goes to pausetrace, which stops bpftrace
      // in order (a SIGINT straight to bpftrace would end it before it drained its buffers)
      detached: true,
    })
    this.child = child
    live.add(child)
    // Paused mode: read() hands out everything buffered at once, and reading stopped at the
    // handle stays stopped (in flowing mode the stream starts it again at once)
    child.stdout?.on('readable', () => {
      if (!this.takeTimer) this.take()
    })
    let partial = ''
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (text: string) => {
      const lines = (partial + text).split('\n')
      partial = lines.pop() ?? ''
      for (const l of lines) this.noteStderr(l)
    })
    child.on('error', (err) => {
      this.noteStderr(err.message)
    })
    child.on('close', (code, signal) => {
      if (partial) this.noteStderr(partial)
      clearTimeout(this.takeTimer)
      this.takeTimer = undefined
      live.delete(child)
      this.exitInfo = {code, signal, requested: this.stopRequested, stderrTail: this.stderrTail()}
      if (this.held) this.held.push(['exit', this.exitInfo])
      else this.emit('exit', this.exitInfo)
      this.resolveExit(this.exitInfo)
    })
  }

  /** From now on, output that trickles is taken in batches (see COALESCE_MS); until now, each read at once. */
  coalesce(): void {
    this.coalescing = true
  }

  /** Emits everything bpftrace wrote so far; after a small take while the output trickles, stops reading for COALESCE_MS. */
  private take(): void {
    this.takeTimer = undefined
    const stdout = this.child?.stdout
    if (!stdout) return
    let n = 0
    for (let chunk = stdout.read() as Buffer | null; chunk !== null; chunk = stdout.read() as Buffer | null) {
      n += chunk.length
      if (this.held) this.held.push(['data', chunk])
      else this.emit('data', chunk)
    }
    // nothing taken: no wait (two waits in a row with no read between would starve the reader)
    if (n === 0 || !this.coalescing || this.stopRequested) return
    // the rate counts every take, small or not
    const fast = this.lastSecond(n) >= COALESCE_RATE
    if (n >= COALESCE_BELOW) return
    if (!this.reading(false)) return
    if (fast) this.fastWaits++
    else this.waits++
    this.takeTimer = setTimeout(() => {
      this.reading(true)
      this.take()
    }, fast ? FAST_PAUSE_MS : COALESCE_MS)
  }

  /** Counts `n` bytes taken now; the bytes taken in the last second, these included. */
  private lastSecond(n: number): number {
    const slots = this.slots
    const now = Math.floor(performance.now() / RATE_SLOT_MS)
    // the slots between the last take and now held nothing
    for (let s = Math.max(this.slot + 1, now - RATE_SLOTS + 1); s <= now; s++) slots[s % RATE_SLOTS] = 0
    this.slot = now
    slots[now % RATE_SLOTS] += n
    let sum = 0
    for (let i = 0; i < RATE_SLOTS; i++) sum += slots[i]
    return sum
  }

  /**
   * Stops or restarts reading bpftrace's pipe at the handle, as net.Socket does itself (pause()
   * alone goes on reading into the stream's buffer, and each line still wakes node up). Whether
   * it did: a handle without these methods is left reading.
   */
  private reading(on: boolean): boolean {
    const handle = (this.child?.stdout as unknown as {_handle?: {reading?: boolean; readStart?: () => number; readStop?: () => number}} | undefined)?._handle
    if (!handle || typeof handle.readStart !== 'function' || typeof handle.readStop !== 'function' || handle.reading === on) return false
    handle.reading = on
    if (on) handle.readStart()
    else handle.readStop()
    return true
  }

  /** Emits what was held since start({hold: true}), in order, then emits as it comes. */
  release(): void {
    const held = this.held ?? []
    this.held = undefined
    for (const [kind, value] of held) this.emit(kind, value)
  }

  private noteStderr(line: string): void {
    if (isBenignStderr(line)) return
    this.stderrLines.push(line.trimEnd())
    if (this.stderrLines.length > 20) this.stderrLines.shift()
  }

  stderrTail(): string {
    return this.stderrLines.slice(-5).join(' | ')
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined
  }

  wait(): Promise<RunnerExit> {
    return this.exited
  }

  /** Asks bpftrace to stop (stopBpftrace) and resolves when it has exited. */
  async stop(drained?: () => Promise<void>): Promise<RunnerExit> {
    const child = this.child
    if (!child || this.exitInfo) return this.exited
    this.stopRequested = true
    // a stop takes everything at once from now on
    if (this.takeTimer) {
      clearTimeout(this.takeTimer)
      this.reading(true)
      this.take()
    }
    await stopBpftrace({exited: this.exited, signal: (sig) => child.kill(sig)}, drained, this.opts.stopStepMs)
    return this.exited
  }

  /** Immediate SIGKILL, for cleanup paths. */
  kill(): void {
    if (this.child && !this.exitInfo) this.child.kill('SIGKILL')
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms).unref()
  })
}
