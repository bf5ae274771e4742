// The chain behind one event, step by step with trace times (syscall → generated → delivered or
// consumed → exit → SIGCHLD → reap), and the detail pane's lines that show it.
import type {ProcRef, ReapEvent, SignalEvent} from '../events/types.js'
import type {Entry, ExitItem, GapItem, SandboxState, SignalItem} from '../model/timeline.js'
import {SIGNAL_STATES, shownState} from './signal-state.js'
import {sandboxTitle} from './summary.js'
import {fit, textWidth, wrap} from './text-fit.js'
import {formatStatus, formatTarget, formatTime} from './text-line.js'
import {duration, exitText, procLabel, who} from './words.js'

export interface Step {
  t?: number
  text: string
}

export interface Chain {
  t: number
  title: string
  steps: Step[]
}

function sentStep(e: SignalEvent): Step {
  if (e.via === 'kernel') return {t: e.t, text: `sent by the kernel${e.code ? ` (${e.code})` : ''} on behalf of ${who(e.from)}`}
  const ret = e.ret === undefined ? '' : e.ret < 0 ? `, failed ${e.errno ?? e.ret}` : ''
  return {t: e.t, text: `${e.via}(${formatTarget(e.target)}, ${e.signame}) by ${who(e.from)}${ret}`}
}

/** Why the kernel dropped a signal (signal_generate result "ignored"), from what the trace shows. */
function whyIgnored(e: SignalEvent, to: string): string {
  if (e.sig === 18) return 'SIGCONT resumed the process as it was generated; without a handler the signal itself is then dropped'
  if (IGNORED_BY_DEFAULT.has(e.sig)) return `${e.signame}'s default action is to ignore it, for any process without a handler`
  if (e.to?.innerPid !== 1) return `${to} ignores ${e.signame}`
  if (e.sig === 9 || e.sig === 19) return `${to} is PID 1 of its namespace: ${e.signame} is forced only when sent from an ancestor namespace`
  return `${to} is PID 1 of its namespace and has no handler for ${e.signame}`
}

const IGNORED_BY_DEFAULT = new Set([17, 18, 23, 28])

/** The steps of a signal's fate; each names the state by its one word (signal-state.ts). */
function fateSteps(s: SignalItem, now: number): Step[] {
  const e = s.ev
  const to = e.to ? who(e.to) : '?'
  const shown = shownState(s, now)
  const word = SIGNAL_STATES[shown].word
  switch (shown) {
    case 'dead':
      return [{t: e.t, text: `generated: ${word}, ${to} had already exited (a zombie; the kernel reports "ignored")`}]
    case 'ignored':
      return [{t: e.t, text: `generated: ${word}, dropped by the kernel (${whyIgnored(e, to)})`}]
    case 'coalesced':
      return [{t: e.t, text: `generated: already ${word}${s.into ? ` since ${formatTime(s.into.t)}` : ''}, merged into it`}]
    case 'overflow':
      return [{t: e.t, text: `generated: ${word}, ${e.result === 'lose_info' ? 'queued without its siginfo' : 'not queued (the signal queue was full)'}`}]
    default:
      break
  }
  const steps: Step[] = [{t: e.t, text: `generated: queued for ${to}`}]
  switch (shown) {
    case 'handler':
      steps.push({t: s.deliver?.t, text: `${word}: delivered to its handler`})
      break
    case 'sig_ign':
      steps.push({t: s.deliver?.t, text: `delivered: ${word}, nothing happens`})
      break
    case 'default':
      steps.push({t: s.deliver?.t ?? s.fatal?.t, text: s.fatal ? `${word}: the process dies` : `delivered to its ${word}`})
      break
    case 'consumed':
      steps.push(
        s.state === 'consumed'
          ? {t: s.consumedT, text: `${word} without a handler (read from a signalfd or by sigwaitinfo): a later ${e.signame} was queued anew`}
          : // still queued as far as the trace shows: it may as well be blocked
            {text: `${word} (read from a signalfd or by sigwaitinfo${e.to?.comm === 'catatonit' ? ': catatonit does' : ''}) or blocked: no delivery after ${duration(now - s.t)}`},
      )
      break
    case 'undelivered':
      steps.push({text: `${word}: ${to} exited with it still queued`})
      break
    case 'awaiting':
      steps.push({text: `${word}: waiting for delivery`})
      break
  }
  return steps
}

function exitSteps(x: ExitItem, now: number): Step[] {
  const steps: Step[] = []
  if (x.cause) steps.push(sentStep(x.cause.ev), {t: x.cause.t, text: `generated: queued for ${who(x.ev.proc)}`})
  if (x.groupKill) steps.push({t: x.groupKill.t, text: `default action: the kernel kills the process (signal_deliver SIGKILL)`})
  steps.push({t: x.t, text: `exit: ${who(x.ev.proc)} ${exitText(x)}`})
  if (x.sigchld) steps.push({t: x.sigchld.t, text: `SIGCHLD to ${who(x.sigchld.to as ProcRef)}: ${x.sigchld.result === 'ignored' ? 'ignored (no handler; it must still wait for the child)' : x.sigchld.result ?? '?'}`})
  const r = x.released
  if (!r) steps.push({text: `not reaped for ${duration(now - x.t)}: a zombie; ${x.parent ? `${who(x.parent)} should reap it with wait4/waitid` : 'its parent is unknown'}`})
  else if (r.how === 'reaped') steps.push(reapStep(r.reap.ev, r.reap.latency))
  else if (r.how === 'namespace-ended') steps.push({t: r.t, text: `released by the kernel when ${who(r.by)} (PID 1 of its namespace) exited`})
  else steps.push({t: r.t, text: `its PID was reused: it was reaped without a wait the trace saw`})
  return steps
}

function reapStep(e: ReapEvent, latency: number | undefined): Step {
  const opts = e.options?.length ? ` ${e.options.join('|')}` : ''
  const from = e.statusFrom !== 'exit' ? '' : e.options === undefined ? " (status from the child's exit: the wait began before tracing)" : ' (no status pointer)'
  return {t: e.t, text: `${e.syscall}${opts} by ${who(e.reaper)}: reaped, ${formatStatus(e.status)}${latency !== undefined ? `, ${duration(latency)} after the exit` : ''}${from}`}
}

export function chainOf(entry: Entry, now: number): Chain {
  switch (entry.kind) {
    case 'signal': {
      const e = entry.ev
      // A fatal one's chain goes on through the exit to the reap.
      const steps = entry.fatal ? exitSteps(entry.fatal, now) : [sentStep(e), ...fateSteps(entry, now)]
      return {t: e.t, title: `${e.signame} ${who(e.from)} → ${e.to ? who(e.to) : formatTarget(e.target)}`, steps}
    }
    case 'exit':
      return {t: entry.t, title: `exit ${who(entry.ev.proc)} ${exitText(entry)}${entry.released ? '' : ': zombie'}`, steps: exitSteps(entry, now)}
    case 'reap': {
      const e = entry.ev
      const title = `reap ${who(e.reaper)} reaped ${procLabel(e.child)}: ${formatStatus(e.status)}`
      if (entry.exit) return {t: e.t, title, steps: exitSteps(entry.exit, now)}
      return {t: e.t, title, steps: [{text: `exit not seen (before the trace began, or lost)`}, reapStep(e, undefined)]}
    }
    case 'flood': {
      const e = entry.first
      return {
        t: entry.t,
        title: `flood ${entry.count}× ${e.signame} ${who(e.from)} → ${who(e.to)}`,
        steps: [
          {t: entry.fromT, text: `${e.of === 'deliver' ? 'deliveries' : 'signals'} past the first 64 per 250 ms counted in the kernel, not sent one by one`},
          {t: entry.lastT, text: `${entry.count} counted in ${entry.events} summar${entry.events === 1 ? 'y' : 'ies'}`},
        ],
      }
    }
  }
}

export function gapChain(g: GapItem, now: number): Chain {
  return {t: g.t, title: `LOST ${g.count} event(s)${g.sources.length ? ` (${g.sources.join(', ')})` : ''}`, steps: [{t: g.t, text: `lost between ${formatTime(g.t)} and ${g.endT !== undefined ? formatTime(g.endT) : `now (${formatTime(now)})`}: marks in this span may be missing`}]}
}

/** A sandbox's detail entries (its events and the trace's gaps), newest first. */
export function detailEntries(sb: SandboxState, gaps: GapItem[]): Array<Entry | GapItem> {
  const all: Array<Entry | GapItem> = [...sb.entries, ...gaps.filter((g) => (g.endT ?? Infinity) >= sb.firstT)]
  return all.sort((a, b) => b.t - a.t)
}

export interface DetailLine {
  text: string
  bold?: boolean
  dim?: boolean
}

/** The detail pane's lines for the selected sandbox: a rule, the event's title, its chain (wrapped). */
export function detailLines(sb: SandboxState | undefined, gaps: GapItem[], entry: number, now: number, columns: number): DetailLine[] {
  const entries = sb ? detailEntries(sb, gaps) : []
  const i = Math.min(entry, Math.max(0, entries.length - 1))
  const where = sb ? sandboxTitle(sb).split(' · ')[0] : 'no sandbox'
  const rule = `── ${where} · ${entries.length ? `event ${i + 1} of ${entries.length} · ←/→ older/newer` : 'no events'} `
  const lines: DetailLine[] = [{text: fit(rule + '─'.repeat(Math.max(0, columns - textWidth(rule))), columns), dim: true}]
  const e = entries[i]
  if (!e) return [...lines, {text: fit('  no signals, exits or reaps in this sandbox yet', columns), dim: true}]
  const chain = e.kind === 'gap' ? gapChain(e, now) : chainOf(e, now)
  for (const l of wrap(`${formatTime(chain.t)} ${chain.title}`, columns)) lines.push({text: fit(l, columns), bold: true})
  const pad = ' '.repeat(formatTime(0).length)
  for (const step of chain.steps) {
    const [first, ...rest] = wrap(step.text, columns - pad.length - 4)
    lines.push({text: fit(`  ${step.t !== undefined ? formatTime(step.t) : pad}  ${first}`, columns)})
    for (const r of rest) lines.push({text: fit(`  ${pad}  ${r}`, columns)})
  }
  return lines
}
