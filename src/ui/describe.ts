// Words and marks for the timeline: the glyph of each lane item, a lane's one-line summary and
// the chain of steps behind an event (syscall → generated → delivered or consumed → exit → reap).
// Pure functions of the model's state and `now`; the Ink components only lay them out.
import type {ProcRef, ReapEvent, SignalEvent} from '../events/types.js'
import {UNDELIVERED_AFTER_NS, type Entry, type ExitItem, type GapItem, type Lane, type LaneItem, type SandboxState, type SignalItem} from '../model/timeline.js'
import {formatStatus, formatTarget} from './text-line.js'
import {signalName} from '../events/names.js'

export type Tone = 'ignored' | 'pending' | 'handler' | 'default' | 'consumed' | 'exit' | 'zombie' | 'reap' | 'flood' | 'fork' | 'gap' | 'none'

export interface Glyph {
  ch: string
  tone: Tone
  /** the higher wins a cell shared with other marks */
  prio: number
}

export const LEGEND: Array<[string, Tone, string]> = [
  ['I', 'ignored', 'signal ignored by the kernel (PID 1 without a handler, SIG_IGN, SIGCHLD…)'],
  ['P', 'pending', 'signal pending: queued and not delivered yet, or merged into one already pending'],
  ['H', 'handler', 'signal delivered to a handler'],
  ['D', 'default', 'signal delivered to its default action (for SIGTERM, SIGKILL…: the process dies)'],
  ['C', 'consumed', 'signal consumed without a handler (a signalfd or sigwaitinfo reader: catatonit) or never delivered'],
  ['X', 'exit', 'exit (reaped)'],
  ['Z', 'zombie', 'exit, not reaped: a zombie (z… while it stays one)'],
  ['R', 'reap', 'reap: wait4/waitid collected an exited child'],
  ['F', 'flood', 'flood: signals counted in the kernel (the count is in the summary)'],
  ['+', 'fork', 'process started (fork)'],
  ['░', 'gap', 'events lost here: marks in this span may be missing'],
  ['†', 'exit', 'signal to a process that had already exited (a zombie): no effect'],
]

/** One process as the view names it: comm[hostPID/innerPID]. */
export function procLabel(p: Pick<ProcRef, 'pid' | 'comm' | 'innerPid'>): string {
  const inner = p.innerPid !== null && p.innerPid !== undefined && p.innerPid !== p.pid ? `/${p.innerPid}` : ''
  return `${p.comm || 'pid '}${p.comm ? '[' : ''}${p.pid}${inner}${p.comm ? ']' : ''}`
}

function who(p: ProcRef): string {
  return `${procLabel(p)}${p.role === 'host' ? ' (host)' : p.role === 'pause' ? ' (pause)' : ''}`
}

export function laneLabel(l: Lane): string {
  return procLabel(l.named ? l.proc : {pid: l.pid, comm: '', innerPid: l.proc.innerPid})
}

/** 0.3ms, 12.5ms, 3.9s, 2m05s */
export function duration(ns: number): string {
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)}ms`
  if (ns < 60e9) return `${(ns / 1e9).toFixed(1)}s`
  const s = Math.floor(ns / 1e9)
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}

/** +0.326066s */
export function at(t: number): string {
  return `+${(t / 1e9).toFixed(6)}s`
}

/** A signal's state as shown now: a queued signal not delivered for a while reads as consumed. */
export function shownState(s: SignalItem, now: number): SignalItem['state'] {
  return s.state === 'awaiting' && now - s.t > UNDELIVERED_AFTER_NS ? 'undelivered' : s.state
}

export function glyphOf(item: LaneItem, now: number): Glyph {
  switch (item.kind) {
    case 'signal':
      switch (shownState(item, now)) {
        case 'dead':
          return {ch: '†', tone: 'exit', prio: 3}
        case 'ignored':
        case 'sig_ign':
          return {ch: 'I', tone: 'ignored', prio: 10}
        case 'default':
          return {ch: 'D', tone: 'default', prio: 7}
        case 'handler':
          return {ch: 'H', tone: 'handler', prio: 5}
        case 'consumed':
        case 'undelivered':
          return {ch: 'C', tone: 'consumed', prio: 4}
        default:
          return {ch: 'P', tone: 'pending', prio: 6}
      }
    case 'deliver':
      return item.ev.handler === 'handler' ? {ch: 'H', tone: 'handler', prio: 5} : item.ev.handler === 'ignore' ? {ch: 'I', tone: 'ignored', prio: 10} : {ch: 'D', tone: 'default', prio: 7}
    case 'exit':
      return item.released ? {ch: 'X', tone: 'exit', prio: 8} : {ch: 'Z', tone: 'zombie', prio: 9}
    case 'reap':
      return {ch: 'R', tone: 'reap', prio: 7}
    case 'flood':
      return {ch: 'F', tone: 'flood', prio: 8}
    case 'fork':
      return {ch: '+', tone: 'fork', prio: 1}
  }
}

export interface Cell {
  ch: string
  tone: Tone
}

/** A lane's track: `width` cells for the window [from, to]; the most important mark wins a cell. */
export function trackCells(lane: Lane, gaps: GapItem[], window: {from: number; to: number}, width: number, now: number): Cell[] {
  const cells: Array<Cell & {prio: number}> = Array.from({length: width}, () => ({ch: '·', tone: 'none', prio: 0}))
  if (width <= 0) return cells
  const span = Math.max(1, window.to - window.from)
  const col = (t: number): number => Math.min(width - 1, Math.max(0, Math.floor(((t - window.from) / span) * width)))
  const put = (c: number, g: Glyph): void => {
    if (g.prio > cells[c].prio) cells[c] = {ch: g.ch, tone: g.tone, prio: g.prio}
  }
  const bar = (a: number, b: number, g: Glyph): void => {
    if (b < window.from) return
    for (let c = col(Math.max(a, window.from)); c <= col(b); c++) put(c, g)
  }
  for (const g of gaps) bar(g.t, g.endT ?? now, {ch: '░', tone: 'gap', prio: 0.5})
  for (const item of lane.items) {
    // a zombie's bar runs from its exit to now
    if (item.kind === 'exit' && !item.released) bar(item.t, now, {ch: 'z', tone: 'zombie', prio: 2})
    if (item.t < window.from) continue
    put(col(item.t), glyphOf(item, now))
  }
  // A flood is one mark with its count, written after it where the track is free.
  for (const item of lane.items) {
    if (item.kind !== 'flood' || item.t < window.from) continue
    const c = col(item.t)
    if (cells[c].ch !== 'F') continue
    const text = `×${item.count}`
    for (let i = 0; i < text.length && c + 1 + i < width && cells[c + 1 + i].prio < 1; i++) cells[c + 1 + i] = {ch: text[i], tone: 'flood', prio: 1}
  }
  return cells.map(({ch, tone}) => ({ch, tone}))
}

function exitText(x: ExitItem): string {
  const e = x.ev
  return e.signal !== undefined ? `killed by ${signalName(e.signal)}${e.core ? ' (core)' : ''}` : `exited ${e.code ?? '?'}`
}

const STATE_WORD: Record<SignalItem['state'], string> = {
  dead: 'to a zombie',
  ignored: 'ignored',
  coalesced: 'pending',
  overflow: 'overflow',
  awaiting: 'pending',
  handler: 'handled',
  default: 'default action',
  sig_ign: 'SIG_IGN',
  consumed: 'consumed',
  undelivered: 'consumed',
}

const STATE_ORDER: SignalItem['state'][] = ['ignored', 'sig_ign', 'default', 'coalesced', 'overflow', 'awaiting', 'undelivered', 'consumed', 'handler', 'dead']

/** The lane's summary, most important first: zombie or exit → reap, floods, reaps, signals by fate. */
export function laneSummary(lane: Lane, now: number, gaps: GapItem[] = []): string[] {
  const out: string[] = []
  const x = lane.exit
  if (x) {
    const r = x.released
    // events lost after the exit may have held its reap
    const unsure = gaps.some((g) => (g.endT ?? now) >= x.t) ? '?' : ''
    if (!r) out.push(`zombie${unsure} ${duration(now - x.t)} (parent ${x.parent ? procLabel(x.parent) : 'unknown'})`)
    else if (r.how === 'reaped') out.push(`${exitText(x)}, reaped by ${procLabel(r.reap.ev.reaper)} in ${duration(r.reap.t - x.t)}`)
    else if (r.how === 'namespace-ended') out.push(`${exitText(x)}, released with its PID namespace`)
    else out.push(`${exitText(x)}, reaped unseen`)
  }
  for (const [sig, n] of lane.flooded) out.push(`flood ${sig} ×${n}`)
  if (lane.reaped > 0 && lane.lastReap) {
    const last = lane.lastReap
    out.push(`reaped ${lane.reaped}${last.latency !== undefined ? `, last ${procLabel(last.ev.child)} in ${duration(last.latency)}` : ''}`)
  }
  // Signals by name and fate. Ignored and merged ones are exact counts; the fate of queued ones
  // is read from the items still in the lane.
  const fates = new Map<string, number>()
  const add = (k: string, n: number): void => {
    fates.set(k, (fates.get(k) ?? 0) + n)
  }
  for (const [k, n] of lane.received) if (!k.endsWith(' queued')) add(k, n)
  // (a fatal one is told by the exit)
  for (const it of lane.items) if (it.kind === 'signal' && it.ev.result === 'delivered' && !it.fatal) add(`${it.ev.signame} ${shownState(it, now)}`, 1)
  const order = (k: string): number => STATE_ORDER.indexOf(k.slice(k.lastIndexOf(' ') + 1) as SignalItem['state'])
  for (const [k, n] of [...fates].sort((a, b) => order(a[0]) - order(b[0]))) {
    const sp = k.lastIndexOf(' ')
    out.push(`${k.slice(0, sp)} ${STATE_WORD[k.slice(sp + 1) as SignalItem['state']]}${n > 1 ? ` ×${n}` : ''}`)
  }
  return out
}

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

function fateSteps(s: SignalItem, now: number): Step[] {
  const e = s.ev
  const to = e.to ? who(e.to) : '?'
  switch (s.state) {
    case 'dead':
      return [{t: e.t, text: `generated: no effect, ${to} had already exited (a zombie; the kernel reports "ignored")`}]
    case 'ignored':
      return [{t: e.t, text: `generated: ignored, dropped by the kernel (${whyIgnored(e, to)})`}]
    case 'coalesced':
      return [{t: e.t, text: `generated: already pending${s.into ? ` since ${at(s.into.t)}` : ''}, merged into it`}]
    case 'overflow':
      return [{t: e.t, text: `generated: ${e.result === 'lose_info' ? 'queued without its siginfo' : 'the signal queue overflowed, not queued'}`}]
    default:
      break
  }
  const steps: Step[] = [{t: e.t, text: `generated: queued for ${to}`}]
  switch (s.state) {
    case 'handler':
      steps.push({t: s.deliver?.t, text: `delivered to its handler`})
      break
    case 'sig_ign':
      steps.push({t: s.deliver?.t, text: `delivered: SIG_IGN, nothing happens`})
      break
    case 'default':
      steps.push({t: s.deliver?.t ?? s.fatal?.t, text: s.fatal ? `default action: the process dies` : `delivered to its default action`})
      break
    case 'consumed':
      steps.push({t: s.consumedT, text: `consumed without a handler (read from a signalfd or by sigwaitinfo): a later ${e.signame} was queued anew`})
      break
    case 'undelivered':
      steps.push({text: `never delivered: ${to} exited with it still queued`})
      break
    case 'awaiting':
      steps.push(
        now - s.t > UNDELIVERED_AFTER_NS
          ? {text: `no delivery after ${duration(now - s.t)}: read from a signalfd or by sigwaitinfo${e.to?.comm === 'catatonit' ? ' (catatonit does)' : ''}, or blocked`}
          : {text: `waiting for delivery`},
      )
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
  return {t: g.t, title: `LOST ${g.count} event(s)${g.sources.length ? ` (${g.sources.join(', ')})` : ''}`, steps: [{t: g.t, text: `lost between ${at(g.t)} and ${g.endT !== undefined ? at(g.endT) : `now (${at(now)})`}: marks in this span may be missing`}]}
}

/** A sandbox's detail entries (its events and the trace's gaps), newest first. */
export function detailEntries(sb: SandboxState, gaps: GapItem[]): Array<Entry | GapItem> {
  const all: Array<Entry | GapItem> = [...sb.entries, ...gaps.filter((g) => (g.endT ?? Infinity) >= sb.firstT)]
  return all.sort((a, b) => b.t - a.t)
}

/** The sandbox title line: name, runtime, PID namespace layout, id, counts. */
export function sandboxTitle(sb: SandboxState, hidden = 0): string {
  const r = sb.record
  const more = hidden > 0 ? ` (+${hidden} more process${hidden === 1 ? '' : 'es'})` : ''
  if (sb.id === 'host') return `host (processes outside any sandbox)${more} · ${sb.counts.events} events`
  const name = r?.pod ? `${r.pod.namespace ? `${r.pod.namespace}/` : ''}${r.pod.name}` : sb.id
  const parts = [name + more]
  if (r) parts.push(r.runtime, r.sharedPidNamespace ? 'shared PID ns' : 'own PID ns')
  if (r?.pod) parts.push(sb.id)
  if (r && !r.pausePid) parts.push('no pause process')
  parts.push(`${sb.counts.events} event${sb.counts.events === 1 ? '' : 's'}`)
  if (sb.counts.zombies > 0) parts.push(`${sb.counts.zombies} zombie${sb.counts.zombies === 1 ? '' : 's'}`)
  return parts.join(' · ')
}

// --- text that fits -----------------------------------------------------------------------------

const WIDE = /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F300}-\u{1FAFF}\u{20000}-\u{3FFFD}]/u

export function textWidth(s: string): number {
  let w = 0
  for (const ch of s) w += WIDE.test(ch) ? 2 : 1
  return w
}

/** Cuts to `width` cells (with … when cut) and pads with spaces to exactly `width`. */
export function fit(s: string, width: number): string {
  if (width <= 0) return ''
  if (textWidth(s) <= width) return s + ' '.repeat(width - textWidth(s))
  let out = ''
  let w = 0
  for (const ch of s) {
    const cw = WIDE.test(ch) ? 2 : 1
    if (w + cw > width - 1) break
    out += ch
    w += cw
  }
  return out + '…' + ' '.repeat(Math.max(0, width - 1 - w))
}

export interface Widths {
  label: number
  track: number
  summary: number
}

/** Column widths for a terminal `columns` wide: the summary goes first when it is narrow. */
export function widthsFor(columns: number): Widths {
  const summary = columns >= 100 ? Math.min(64, Math.floor(columns * 0.4)) : columns >= 72 ? Math.floor(columns * 0.32) : 0
  const label = columns < 60 ? Math.min(16, Math.floor(columns * 0.4)) : Math.min(24, Math.max(14, Math.floor(columns * 0.2)))
  return {label, summary, track: Math.max(1, columns - label - 1 - summary)}
}

/** The time axis under the track: 0s at the left, the window's end at the right. */
export function axisText(window: {from: number; to: number}, width: number): string {
  const span = window.to - window.from
  const label = (t: number): string => {
    const s = t / 1e9
    if (span >= 60e9) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
    return `${Number.isInteger(s) ? s : s.toFixed(1)}s`
  }
  const left = label(window.from)
  const right = label(window.to)
  const mid = label(window.from + span / 2)
  if (width < left.length + right.length + 2) return fit(left, width)
  const chars = Array.from({length: width}, () => ' ')
  const place = (text: string, at: number): void => {
    for (let i = 0; i < text.length && at + i < width; i++) chars[at + i] = text[i]
  }
  place(left, 0)
  const m = Math.floor(width / 2) - Math.floor(mid.length / 2)
  if (width >= left.length + mid.length + right.length + 4) place(mid, m)
  place(right, width - right.length)
  return chars.join('')
}

export function filtersText(filters: Record<string, unknown> | undefined): string {
  if (!filters) return 'sandboxes'
  const parts: string[] = []
  const list = (k: string, flag: string): void => {
    const v = filters[k]
    if (Array.isArray(v)) for (const x of v) parts.push(`${flag} ${k === 'signals' ? signalName(Number(x)) : String(x)}`)
  }
  list('pods', '--pod')
  list('namespaces', '--namespace')
  list('sandboxes', '--sandbox')
  list('pids', '--pid')
  list('signals', '--signal')
  if (filters.all === true) parts.unshift('--all')
  return parts.length ? parts.join(' ') : 'all sandboxes'
}

/** Terminal colours of the marks (Ink colour names). */
export const TONE_COLOR: Record<Tone, string | undefined> = {
  ignored: 'red',
  pending: 'yellow',
  handler: 'green',
  default: 'magenta',
  consumed: 'cyan',
  exit: undefined,
  zombie: 'red',
  reap: 'green',
  flood: 'yellow',
  fork: 'gray',
  gap: 'gray',
  none: 'gray',
}

/** Word-wraps to `width` cells; a word longer than a line is cut. */
export function wrap(text: string, width: number): string[] {
  if (width <= 0) return ['']
  const out: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word
    if (textWidth(next) <= width) line = next
    else {
      if (line) out.push(line)
      line = textWidth(word) > width ? fit(word, width) : word
    }
  }
  out.push(line)
  return out
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
  for (const l of wrap(`${at(chain.t)} ${chain.title}`, columns)) lines.push({text: fit(l, columns), bold: true})
  const pad = ' '.repeat(at(0).length)
  for (const step of chain.steps) {
    const [first, ...rest] = wrap(step.text, columns - pad.length - 4)
    lines.push({text: fit(`  ${step.t !== undefined ? at(step.t) : pad}  ${first}`, columns)})
    for (const r of rest) lines.push({text: fit(`  ${pad}  ${r}`, columns)})
  }
  return lines
}
