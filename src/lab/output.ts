// The two ways a lab run is shown: text for people (numbered steps, the commands run, the trace as
// `replay --text` lines, each check next to the event that satisfied it) and newline-delimited
// JSON for scripts (the trace file's records, plus `{"type":"lab",…}` records for the narration).
import type {DecodedRecord} from '../events/decoder.js'
import type {FindingRecord, FooterRecord, HeaderRecord, SandboxRecord} from '../events/types.js'
import {formatFinding} from '../findings/format.js'
import {formatRecord} from '../ui/text-line.js'
import {displayCommand} from './exec.js'
import {formatPattern, type CheckResult, type Fact, type Verdict} from './expect.js'
import type {LabContainer, LabSandbox, Leftover, Made, RuntimeName} from './runtime.js'

export interface ExerciseInfo {
  id: string
  title: string
  runtimes: readonly RuntimeName[]
  summary: string
}

export interface LabSink {
  exercise(ex: ExerciseInfo, runtime: RuntimeName): void
  header(h: HeaderRecord): void
  step(n: number, title: string): void
  say(text: string): void
  command(argv: string[]): void
  sandbox(sb: LabSandbox): void
  container(c: LabContainer): void
  /** trace records of the lab's sandboxes, in order; `hidden` of them are runtime set-up noise */
  trace(records: Array<SandboxRecord | DecodedRecord>, hidden: number): void
  checks(step: number, results: CheckResult[], facts: Fact[]): void
  footer(f: FooterRecord): void
  /** what `explain` says of the lab's trace (its sandboxes' findings), after the footer */
  findings(list: FindingRecord[]): void
  /** before the runtime removes what the lab made (its commands follow) */
  cleanupStart(): void
  cleanup(made: Made[], leftovers: Leftover[]): void
  result(v: Verdict, extra: {interrupted: boolean; lost: number; leftovers: number; error?: string}): void
}

export type Write = (line: string) => void

const INDENT = '   '

export function describeSandbox(sb: LabSandbox): string {
  const what = sb.podId ? `pod ${sb.podId.slice(0, 12)}` : 'bare namespaces'
  return `sandbox "${sb.name}" (${what}): ${sb.sandboxId}, PID 1 = ${sb.pauseComm}[${sb.pausePid}], started by ${sb.parentComm}[${sb.parentPid}]; PID namespace ${sb.sharePid ? 'shared with its containers (shareProcessNamespace: true)' : 'its own (shareProcessNamespace: false)'}`
}

export function describeContainer(c: LabContainer): string {
  return `container "${c.name}": PID ${c.pid}${c.ownPidNs ? ', PID 1 of a namespace of its own' : `, in ${c.sandbox.pauseComm}'s PID namespace`}; its parent is ${c.parentComm}[${c.parentPid}]`
}

export class TextSink implements LabSink {
  constructor(private readonly write: Write) {}

  exercise(ex: ExerciseInfo, runtime: RuntimeName): void {
    this.write(`pausetrace lab ${ex.id} (runtime: ${runtime}): ${ex.title}`)
    this.write('')
    for (const l of wrap(ex.summary, 96)) this.write(l)
  }

  header(h: HeaderRecord): void {
    this.write('')
    this.write(`0. Trace the sandboxes with bpftrace ${h.bpftrace ?? '?'} (kernel ${h.kernel}): every probe is attached.`)
  }

  step(n: number, title: string): void {
    this.write('')
    this.write(`${n}. ${title}`)
  }

  say(text: string): void {
    for (const l of wrap(text, 96 - INDENT.length)) this.write(`${INDENT}${l}`)
  }

  command(argv: string[]): void {
    this.write(`${INDENT}$ ${displayCommand(argv)}`)
  }

  sandbox(sb: LabSandbox): void {
    this.say(describeSandbox(sb))
  }

  container(c: LabContainer): void {
    this.say(describeContainer(c))
  }

  trace(records: Array<SandboxRecord | DecodedRecord>, hidden: number): void {
    const lines = records.filter((r): r is DecodedRecord => r.type === 'event' || r.type === 'lost').map((r) => formatRecord(r))
    if (lines.length === 0 && hidden === 0) return
    this.write(`${INDENT}trace:`)
    for (const l of lines) this.write(`${INDENT}  ${l}`)
    if (hidden > 0) this.write(`${INDENT}  (${hidden} more: the runtime's own set-up and thread events; --json has every record)`)
  }

  checks(_step: number, results: CheckResult[], facts: Fact[]): void {
    if (results.length === 0 && facts.length === 0) return
    this.write(`${INDENT}expected:`)
    for (const f of facts) this.write(`${INDENT}  ${f.ok ? '✓' : '✗'} ${f.text}${f.detail ? ` (${f.detail})` : ''}`)
    for (const r of results) {
      const x = r.expectation
      if (x.absent) {
        this.write(`${INDENT}  ${r.ok ? '✓' : '✗'} ${x.text}${r.ok ? '' : ', but it happened:'}`)
        if (!r.ok && r.event) this.write(`${INDENT}      ${formatRecord(r.event)}`)
      } else {
        this.write(`${INDENT}  ${r.ok ? '✓' : '✗'} ${x.text}${r.ok ? '' : ': NOT SEEN'}`)
        if (r.event) this.write(`${INDENT}      ${formatRecord(r.event)}`)
      }
    }
  }

  footer(f: FooterRecord): void {
    this.write('')
    this.write(`Trace stopped: ${f.events} event(s) of the lab's sandboxes, ${f.lost} lost.`)
  }

  findings(list: FindingRecord[]): void {
    this.write('')
    if (list.length === 0) {
      this.write('Findings (pausetrace explain): none.')
      return
    }
    this.write(`Findings (what \`pausetrace explain\` says of this trace): ${list.length}`)
    for (const f of list) for (const l of formatFinding(f).split('\n')) this.write(`${INDENT}${l}`)
  }

  cleanupStart(): void {
    this.write('')
    this.write('Clean up: remove everything the lab made, by id, then check that it is gone.')
  }

  cleanup(made: Made[], leftovers: Leftover[]): void {
    const count = (w: Made['what']): number => made.filter((m) => m.what === w).length
    const parts = [`${count('process')} process(es)`, `${count('namespace')} namespace(s)`]
    if (count('pod')) parts.push(`${count('pod')} pod(s)`, `${count('container')} container(s)`)
    if (count('sandbox')) parts.push(`${count('sandbox')} pod sandbox(es)`, `${count('container')} container(s)`)
    if (count('mount')) parts.push(`${count('mount')} mount(s)`)
    parts.push(`${count('directory')} directory`)
    if (leftovers.length === 0) this.write(`${INDENT}nothing is left of ${parts.join(', ')}.`)
    else {
      this.write(`Cleanup left ${leftovers.length} thing(s) behind (of ${parts.join(', ')}):`)
      for (const l of leftovers) this.write(`  ✗ ${l.why}; remove it with: ${l.fix}`)
    }
  }

  result(v: Verdict, extra: {interrupted: boolean; lost: number; leftovers: number; error?: string}): void {
    this.write('')
    if (extra.error) this.write(`The exercise stopped early: ${extra.error}`)
    if (extra.interrupted) {
      this.write('Interrupted: the exercise did not finish, so nothing is checked.')
      return
    }
    if (v.ok && !extra.interrupted && !extra.error && extra.leftovers === 0) {
      this.write(`Result: all ${v.expected} expectations were seen. ✓`)
      return
    }
    if (v.expected === 0) return
    this.write(`Result: ${v.seen} of ${v.expected} expectations met.`)
    if (v.missing.length || v.factsFailed.length) {
      this.write('Expected and not seen:')
      for (const f of v.factsFailed) this.write(`  ✗ [step ${f.step}] ${f.text}${f.detail ? ` (read: ${f.detail})` : ''}`)
      for (const r of v.missing) {
        const x = r.expectation
        this.write(`  ✗ [step ${x.step}] ${x.text}`)
        if (x.absent && r.event) this.write(`      should not have happened, but did: ${formatRecord(r.event)}`)
        else this.write(`      no event matched ${formatPattern(x.pattern)}`)
      }
    }
    if (extra.lost > 0) this.write(`Note: ${extra.lost} event(s) were lost; a missing event may be one of them.`)
  }
}

export class JsonSink implements LabSink {
  constructor(private readonly write: Write) {}

  private lab(kind: string, fields: Record<string, unknown>): void {
    this.write(JSON.stringify({type: 'lab', kind, ...fields}))
  }

  exercise(ex: ExerciseInfo, runtime: RuntimeName): void {
    this.lab('exercise', {id: ex.id, title: ex.title, runtime, runtimes: ex.runtimes, summary: ex.summary})
  }

  header(h: HeaderRecord): void {
    this.write(JSON.stringify(h))
  }

  step(n: number, title: string): void {
    this.lab('step', {step: n, title})
  }

  say(text: string): void {
    this.lab('say', {text})
  }

  command(argv: string[]): void {
    this.lab('command', {argv})
  }

  sandbox(sb: LabSandbox): void {
    this.lab('sandbox', {...sb})
  }

  container(c: LabContainer): void {
    const {sandbox, ...rest} = c
    this.lab('container', {...rest, sandboxId: sandbox.sandboxId})
  }

  trace(records: Array<SandboxRecord | DecodedRecord>, _hidden: number): void {
    for (const r of records) this.write(JSON.stringify(r))
  }

  checks(_step: number, results: CheckResult[], facts: Fact[]): void {
    for (const f of facts) this.lab('fact', {step: f.step, text: f.text, ok: f.ok, detail: f.detail ?? null})
    for (const r of results) this.lab('check', {step: r.expectation.step, text: r.expectation.text, absent: r.expectation.absent === true, pattern: r.expectation.pattern, ok: r.ok, t: r.event?.t ?? null})
  }

  footer(f: FooterRecord): void {
    this.write(JSON.stringify(f))
  }

  findings(list: FindingRecord[]): void {
    for (const f of list) this.write(JSON.stringify(f))
  }

  cleanupStart(): void {
    // the cleanup record says it all
  }

  cleanup(made: Made[], leftovers: Leftover[]): void {
    this.lab('cleanup', {made, leftovers})
  }

  result(v: Verdict, extra: {interrupted: boolean; lost: number; leftovers: number; error?: string}): void {
    this.lab('result', {
      ok: v.ok && !extra.interrupted && !extra.error && extra.leftovers === 0,
      expected: v.expected,
      seen: v.seen,
      missing: [...v.factsFailed.map((f) => ({step: f.step, text: f.text, fact: true, detail: f.detail ?? null})), ...v.missing.map((r) => ({step: r.expectation.step, text: r.expectation.text, absent: r.expectation.absent === true, pattern: r.expectation.pattern, t: r.event?.t ?? null}))],
      interrupted: extra.interrupted,
      error: extra.error ?? null,
      lost: extra.lost,
      leftovers: extra.leftovers,
    })
  }
}

/** Greedy word wrap. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) out.push(line)
  return out
}
