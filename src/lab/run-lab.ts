// Runs one lab exercise: gets its live trace from the live runner (live/run.ts), lets the exercise
// build its sandboxes and act step by step (each step narrated, then its part of the trace and its
// checks shown), stops the trace, removes everything by id (also on Ctrl-C, a failed write or any
// failure) and checks the whole trace against every expectation.
import type {LiveRecord, LiveResult} from '../live/live-trace.js'
import {LiveRun} from '../live/run.js'
import {procsOf} from '../events/filter.js'
import {traceFooter} from '../events/format.js'
import type {DecodedRecord} from '../events/decoder.js'
import type {FindingRecord, FooterRecord, HeaderRecord, SandboxRecord, StopReason, TraceEvent} from '../events/types.js'
import {FindingsEngine} from '../findings/engine.js'
import type {MetricsAddress} from '../metrics/server.js'
import {compareFindings} from '../findings/format.js'
import {EnvironmentError, PausetraceError, TraceFailedError, UsageError, EXIT} from '../errors.js'
import {findOnPath} from '../util/which.js'
import {runStepNoThrow} from './exec.js'
import {checkAll, checkExpectation, verdict, type CheckResult, type Expectation, type Fact, type Pattern, type Verdict} from './expect.js'
import {EXERCISES, findExercise, type Exercise, type LabContext} from './exercises.js'
import {checkLeftovers, processesOfTheLab} from './leftovers.js'
import {JsonSink, TextSink, type LabSink} from './output.js'
import {AbortedError, identify, sleep, waitFor, type ProcIdentity} from './procs.js'
import {NamespacesRuntime} from './runtime-namespaces.js'
import {PodmanRuntime} from './runtime-podman.js'
import {CriRuntime} from './runtime-cri.js'
import {RUNTIMES, type LabContainer, type LabRuntime, type LabSandbox, type Leftover, type Made, type RuntimeName} from './runtime.js'

export interface LabOptions {
  exercise: string
  runtime?: string
  json?: boolean
  bpftrace?: string
  argv: string[]
  host: string
  /** one line out (default: standard output, where a failed write ends the run as `record`'s does) */
  write?: (line: string) => void
  /** how long a step waits for the events it expects */
  stepTimeoutMs?: number
  /** --metrics: the trace's Prometheus metrics while the exercise runs (docs/metrics.md) */
  metrics?: {address: MetricsAddress; expiryMs: number}
}

export interface LabResult {
  exercise: string
  runtime: RuntimeName
  ok: boolean
  interrupted: boolean
  verdict: Verdict
  leftovers: Leftover[]
  made: Made[]
  lost: number
  events: number
  /** why the exercise stopped before its end (a runtime command failed…) */
  error?: string
  /** what `explain` says of the trace, for the lab's sandboxes */
  findings: FindingRecord[]
}

/** The exercise is over and what was seen does not match (or it did not finish): exit 1. */
export class LabMismatchError extends PausetraceError {
  constructor(message: string) {
    super(message, EXIT.unexpected, 'LAB_MISMATCH')
  }
}

export function resolveRuntime(ex: Exercise, runtime: string | undefined): RuntimeName {
  const r = runtime ?? 'namespaces'
  if (!(RUNTIMES as readonly string[]).includes(r)) throw new UsageError(`--runtime ${JSON.stringify(r)} is not a lab runtime; use one of: ${RUNTIMES.join(', ')}.`)
  if (!ex.runtimes.includes(r as RuntimeName)) {
    const on = ex.runtimes.length > 1 ? `${ex.runtimes.slice(0, -1).join(', ')} and ${ex.runtimes.at(-1)}` : ex.runtimes[0]
    throw new UsageError(`exercise ${ex.id} runs on ${on} only; use --runtime ${ex.runtimes[0]}.`)
  }
  return r as RuntimeName
}

/** Noise a reader does not need in the text view: threads, and the runtime's own runc processes. */
export function isSetupNoise(e: TraceEvent): boolean {
  if (e.kind === 'fork' && e.thread) return true
  if (e.kind === 'exit' && !e.groupDead) return true
  const procs = procsOf(e)
  if (procs.some((p) => p.tid !== undefined && p.tid !== p.pid)) return true
  return procs.every((p) => /^runc(:|$)/.test(p.comm))
}

export async function runLab(opts: LabOptions): Promise<LabResult> {
  const ex = findExercise(opts.exercise)
  if (!ex) throw new UsageError(`there is no lab exercise ${JSON.stringify(opts.exercise)}; run \`pausetrace lab\` to list them (${EXERCISES.map((e) => e.id).join(', ')}).`)
  const runtimeName = resolveRuntime(ex, opts.runtime)
  const abort = new AbortController()
  let interrupted = false
  const run = await LiveRun.open({
    bpftrace: opts.bpftrace,
    metrics: opts.metrics,
    filters: {all: false, pids: [], signals: []},
    host: opts.host,
    argv: opts.argv,
    notice: () => undefined,
    checks: () => {
      if (!findOnPath('kill')) throw new EnvironmentError('kill is not installed (procps); install it: sudo apt-get install -y procps', 'LAB_TOOL_MISSING')
    },
    // Ctrl-C stops the exercise, which then stops the trace and cleans up
    onStopSignal: () => {
      interrupted = true
      abort.abort()
    },
    onWriteFailed: () => abort.abort(),
  })
  let write = opts.write
  if (!write) {
    // A closed pipe (`lab … | head`) is no failure: the exercise goes on and cleans up.
    const out = run.stdout((err, o) => {
      if (err.code !== 'EPIPE') run.writeFailed(err, o.file ?? 'stdout')
    })
    write = (line) => out.line(`${line}\n`)
  }
  const sink: LabSink = opts.json ? new JsonSink(write) : new TextSink(write)

  const runtimeOpts = {log: (argv: string[]) => sink.command(argv), signal: abort.signal}
  const runtime: LabRuntime = runtimeName === 'podman' ? new PodmanRuntime(runtimeOpts) : runtimeName === 'cri' ? new CriRuntime(runtimeOpts) : new NamespacesRuntime(runtimeOpts)
  const records: LiveRecord[] = []
  const events: TraceEvent[] = []
  const sandboxRecords = new Map<string, SandboxRecord>()
  const sandboxes: LabSandbox[] = []
  const labPids = new Set<number>()
  const expectations: Expectation[] = []
  const facts: Fact[] = []
  const found: Made[] = []
  const foundIds: ProcIdentity[] = []
  let printed = 0
  let liveResult: LiveResult | undefined
  let traceDied = false
  let error: string | undefined
  let leftovers: Leftover[] = []
  let header: HeaderRecord | undefined
  let shownEvents = 0
  const shownKinds: Record<string, number> = {}
  let lost = 0
  let labFindings: FindingRecord[] = []

  const relevantEvent = (e: TraceEvent): boolean => {
    const ids = new Set(sandboxes.map((s) => s.sandboxId))
    return procsOf(e).some((p) => (p.sandbox !== null && ids.has(p.sandbox)) || labPids.has(p.pid))
  }
  const relevant = (r: LiveRecord): boolean => {
    if (r.type === 'header') return false
    if (r.type === 'lost') return true
    if (r.type === 'sandbox') return sandboxes.some((s) => s.sandboxId === r.id)
    return relevantEvent(r)
  }

  /** Shows the records that came since the last flush: the lab's sandboxes only. */
  const flush = (): void => {
    const batch: Array<SandboxRecord | DecodedRecord> = []
    let hidden = 0
    for (; printed < records.length; printed++) {
      const r = records[printed]
      if (!relevant(r) || r.type === 'header') continue
      if (r.type === 'event') {
        shownEvents++
        shownKinds[r.kind] = (shownKinds[r.kind] ?? 0) + 1
        if (!opts.json && isSetupNoise(r)) {
          hidden++
          continue
        }
      }
      if (r.type === 'lost') lost += r.count
      batch.push(r)
    }
    sink.trace(batch, hidden)
  }

  const footer = (): FooterRecord => traceFooter({endedAt: new Date().toISOString(), events: shownEvents, lost, reason: liveResult?.reason ?? 'error', kinds: shownKinds, flooded: liveResult?.stats.flooded ?? 0})
  /** Trace time now (ns), a few ms early: the trace's clock is read from its header's start time. */
  const nowT = (): number => (header ? Math.max(0, Math.round((Date.now() - Date.parse(header.startedAt)) * 1e6) - 5_000_000) : 0)
  let stepNo = 0
  let stepSinceT = 0
  let stepExpect: Expectation[] = []
  /** absent expectations held until the end of their step only */
  let stepBounded: Expectation[] = []
  let stepFacts: Array<{text: string; read: () => {ok: boolean; detail?: string}}> = []
  const stepTimeout = opts.stepTimeoutMs ?? 15_000

  const endStep = async (): Promise<void> => {
    if (stepNo === 0) return
    const positive = stepExpect.filter((x) => !x.absent)
    try {
      await waitFor(() => traceDied || positive.every((x) => checkExpectation(x, events).ok), stepTimeout, 'the expected events', abort.signal)
    } catch (err) {
      if (err instanceof AbortedError) throw err
      // not all seen: the checks below say which
    }
    // Let the events that follow (exits, reaps) through the decoder's reorder window.
    await sleep(450, abort.signal)
    for (const x of stepBounded) x.untilT = nowT()
    flush()
    const f: Fact[] = stepFacts.map((s) => ({...s.read(), text: s.text, step: stepNo}))
    facts.push(...f)
    sink.checks(stepNo, checkAll(stepExpect, events), f)
    stepExpect = []
    stepBounded = []
    stepFacts = []
  }

  /**
   * A runtime with a CRI socket: waits (at most 20 s; the trace asks the socket in the background)
   * until the trace names the new sandbox as its pod, so that its lines carry the pod's name from
   * the start. Not named in time: the exercise goes on, as on a node whose runtime is slow.
   */
  const untilNamed = async (sb: LabSandbox): Promise<void> => {
    if (!runtime.criSocket) return
    await waitFor(() => sandboxRecords.get(sb.sandboxId)?.pod?.name === sb.name, 20_000, `the trace to name pod ${sb.name}`, abort.signal).catch((err: unknown) => {
      if (err instanceof AbortedError) throw err
    })
  }

  const ctx: LabContext = {
    runtime,
    signal: abort.signal,
    async step(title: string, body: () => Promise<void>): Promise<void> {
      stepNo++
      stepSinceT = nowT()
      sink.step(stepNo, title)
      await body()
      await endStep()
    },
    say: (text) => sink.say(text),
    async sandbox(name, o) {
      const sb = await runtime.createSandbox(name, o)
      sandboxes.push(sb)
      labPids.add(sb.parentPid)
      sink.sandbox(sb)
      await untilNamed(sb)
      return sb
    },
    async container(sb, name, cmd) {
      const c = await runtime.runContainer(sb, name, cmd)
      labPids.add(c.parentPid)
      sink.container(c)
      return c
    },
    async resync() {
      const done = runtime.resync ? await runtime.resync() : []
      for (const r of done) {
        sandboxes.push(r.sandbox)
        labPids.add(r.sandbox.parentPid)
        sink.sandbox(r.sandbox)
        for (const c of r.containers) {
          labPids.add(c.parentPid)
          sink.container(c)
        }
      }
      return done
    },
    sandboxRecord: (id) => sandboxRecords.get(id),
    expect(text: string, pattern: Pattern) {
      const x = {text, pattern, step: stepNo, sinceT: stepSinceT}
      expectations.push(x)
      stepExpect.push(x)
    },
    expectNone(text: string, pattern: Pattern, o?: {thisStep?: boolean}) {
      const x: Expectation = {text, pattern, absent: true, step: stepNo, sinceT: stepSinceT}
      expectations.push(x)
      stepExpect.push(x)
      if (o?.thisStep) stepBounded.push(x)
    },
    fact(text, read) {
      stepFacts.push({text, read})
    },
    async kill(pid: number, sig: string): Promise<number> {
      sink.command(['kill', '-s', sig, String(pid)])
      const r = await runStepNoThrow('kill', ['-s', sig, String(pid)], {exec: true, signal: abort.signal, timeoutMs: 10_000})
      if (r.code !== 0) throw new Error(`kill -s ${sig} ${pid} failed: ${r.stderr.trim() || `exit ${r.code}`}`)
      return r.pid
    },
    track(pid: number, what: string) {
      const id = identify(pid, what)
      if (id) {
        found.push({what: 'process', pid, start: id.start, comm: what})
        foundIds.push(id)
      }
    },
    waitFor: (cond, ms, what) => waitFor(cond, ms, what, abort.signal),
    sleep: (ms) => sleep(ms, abort.signal),
  }

  sink.exercise(ex, runtimeName)
  try {
    try {
      await runtime.prepare()
    } catch (err) {
      // Ctrl-C while the runtime gets ready (the cri runtime starts containerd): nothing to trace;
      // what it made is removed below, and the result says interrupted
      if (!(err instanceof AbortedError)) throw err
      interrupted = true
    }
    if (!interrupted) {
      header = await run.start((r) => {
        records.push(r)
        if (r.type === 'event') events.push(r)
        else if (r.type === 'sandbox') sandboxRecords.set(r.id, r)
      }, {criSocket: runtime.criSocket})
      sink.header(header)
      if (run.metricsUrl) sink.say(`Prometheus metrics of this trace, while the exercise runs: ${run.metricsUrl}`)
      const died = run.done().then((r) => {
        liveResult = r
        if (r.reason === 'bpftrace-exit') {
          traceDied = true
          abort.abort()
        }
      })
      try {
        await ex.run(ctx)
      } catch (err) {
        if (err instanceof AbortedError || abort.signal.aborted) {
          if (!traceDied) interrupted = true
        } else if (err instanceof PausetraceError) throw err
        else error = (err as Error).message
      }
      const reason: StopReason = interrupted ? 'interrupt' : 'duration'
      if (!traceDied) await run.stop(reason)
      await died
      flush()
    }
  } finally {
    run.kill()
    if (header) {
      const f = footer()
      sink.footer(f)
      labFindings = findingsOf(records, f, new Set(sandboxes.map((s) => s.sandboxId)))
      sink.findings(labFindings)
    }
    const madeAny = runtime.made().length > 0
    if (madeAny) sink.cleanupStart()
    // Which processes are the lab's: those it made or came across, and any the trace saw in its sandboxes.
    const tracePids = new Set<number>()
    for (const e of events) if (relevantEvent(e)) for (const p of procsOf(e)) tracePids.add(p.pid)
    const inNamespaces = processesOfTheLab([...runtime.made(), ...found], (pid) => tracePids.has(pid))
    let runtimeLeft: Leftover[] = []
    try {
      runtimeLeft = await runtime.cleanup([...inNamespaces, ...foundIds])
    } catch (err) {
      runtimeLeft = [{made: {what: 'directory', path: '?'}, why: `cleanup failed: ${(err as Error).message}`, fix: 'run `pausetrace pods` and remove what the lab made by hand'}]
    }
    leftovers = [...runtimeLeft, ...checkLeftovers([...runtime.made(), ...found], inNamespaces)]
    run.dispose()
    if (madeAny || leftovers.length > 0) sink.cleanup([...runtime.made(), ...found], leftovers)
  }

  const made = [...runtime.made(), ...found]
  // a failed write (a full disk behind stdout): exit 3 and the sentence `record` gives
  run.check()
  if (traceDied) throw new TraceFailedError('bpftrace exited during the lab exercise; the sandboxes were removed', liveResult?.exit.stderrTail ?? '')

  const results: CheckResult[] = checkAll(expectations, events)
  const v = verdict(results, facts)
  sink.result(v, {interrupted, lost, leftovers: leftovers.length, error})
  run.check()
  const ok = v.ok && !interrupted && !error && leftovers.length === 0
  return {exercise: ex.id, runtime: runtimeName, ok, interrupted, verdict: v, leftovers, made, lost, events: shownEvents, error, findings: labFindings}
}

/** What `explain` gives for the lab's trace, for its own sandboxes: every record is read, only theirs are kept. */
function findingsOf(records: LiveRecord[], footer: FooterRecord, ids: Set<string>): FindingRecord[] {
  const out: FindingRecord[] = []
  const engine = new FindingsEngine((f) => {
    if (f.record.sandbox !== null && ids.has(f.record.sandbox)) out.push(f.record)
  })
  for (const r of records) if (r.type !== 'header') engine.push(r)
  engine.push(footer)
  engine.finish()
  return out.sort(compareFindings)
}

export type {LabContainer, LabSandbox}
