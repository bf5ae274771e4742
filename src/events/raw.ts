// One printf line of bpf/*.bt → a typed raw line (see bpf/README.md for the layout).
// Times stay as kernel nanosecond strings until the decoder makes them relative: uptime in
// nanoseconds passes 2^53 after 104 days, so they are never turned into plain numbers whole.
// Every line but P and Q carries its task as read in the kernel (an Actor, process-info.ts).
import type {Actor} from './process-info.js'

interface Base {
  ns: string
}

export type RawLine =
  | (Base & {tag: 'P'; level: number; pidns: number; netns: number})
  | (Base & {tag: 'Q'})
  /**
   * A heartbeat (bpf/control.bt): `times` are each online CPU's latest line time (modulo 10^15),
   * `last` marks a heartbeat's final line; both absent in the older form that a print(@lp) follows.
   */
  | (Base & {tag: 'H'; last?: boolean; times?: number[]})
  | (Base & {tag: 'S'; enterNs: string; via: number; a1: number; a2: number; sig: number; ret: number; pgid: number; suppressed: number; actor: Actor; comm: string})
  | (Base & {tag: 'G'; enterNs: string; sig: number; code: number; result: number; group: number; targetTid: number; target: Actor | null; actor: Actor; targetComm: string})
  | (Base & {tag: 'D'; sig: number; code: number; handler: number; actor: Actor; comm: string})
  | (Base & {tag: 'E'; exitCode: number; groupDead: boolean; how: number; actor: Actor; comm: string})
  | (Base & {tag: 'W'; syscall: number; ret: number; status: number; options: number; which: number; upid: number; siPid: number; siCode: number; siStatus: number; actor: Actor; comm: string})
  | (Base & {tag: 'F'; childTid: number; thread: boolean; actor: Actor; comm: string})
  /** comm: the new name when the file name read back empty (a `Y` line's, or from the live system for an older X line) */
  | (Base & {tag: 'X'; oldTid: number; actor: Actor; filename: string; comm?: string})

export type RawParse = RawLine | {tag: 'bad'; reason: string}

function bad(reason: string): RawParse {
  return {tag: 'bad', reason}
}

/**
 * Reads space-separated integers off a line by character codes: no substrings, no regular
 * expressions (this runs once per traced event). `ok` turns false at the first token that is not
 * a whole decimal number, or when the line ends too soon.
 */
class Fields {
  pos = 0
  ok = true
  constructor(private readonly text: string) {}

  /** the next token as a decimal string (kernel nanoseconds stay strings) */
  str(): string {
    const start = this.pos
    this.int()
    return this.text.slice(start, this.pos - 1)
  }

  /** the next token as a number */
  int(): number {
    const text = this.text
    let i = this.pos
    let neg = false
    if (text.charCodeAt(i) === 45) {
      neg = true
      i++
    }
    const digits = i
    let v = 0
    while (i < text.length) {
      const c = text.charCodeAt(i)
      if (c < 48 || c > 57) break
      v = v * 10 + (c - 48)
      i++
    }
    if (i === digits || (i < text.length && text.charCodeAt(i) !== 32)) this.ok = false
    if (i - digits > 15) v = Number(text.slice(digits, i)) // beyond 2^53: as Number() rounds it
    this.pos = i + 1
    return neg ? -v : v
  }

  /** the rest of the line (free text, may hold spaces; empty when the line ends at the last token) */
  rest(): string {
    return this.pos >= this.text.length ? '' : this.text.slice(this.pos)
  }

  /** whether the line ended exactly at the last token */
  get atEnd(): boolean {
    return this.pos === this.text.length + 1
  }
}

function actorOf(f: Fields): Actor {
  return {
    tid: f.int(), pid: f.int(), innerTid: f.int(), innerPid: f.int(), pidns: f.int(), level: f.int(),
    netns: f.int(), ipcns: f.int(), utsns: f.int(), mntns: f.int(), cgroupId: f.int(), ppid: f.int(),
  }
}

/** `H <ns> <last> <cpu> <time> ...` after the ns. */
function heartbeatLine(f: Fields, ns: string): RawParse {
  const last = f.int()
  const times: number[] = []
  while (f.ok && !f.atEnd) {
    f.int() // the CPU's number: only its time matters
    times.push(f.int())
  }
  return f.ok && (last === 0 || last === 1) ? {tag: 'H', ns, last: last === 1, times} : bad('bad H line')
}

export function parseRawLine(printf: string): RawParse {
  const text = printf.endsWith('\n') ? printf.slice(0, -1) : printf
  const tag = text.charAt(0)
  if (text.charAt(1) !== ' ') return bad('no tag')
  const f = new Fields(text)
  f.pos = 2
  if (tag === 'P') {
    const line = {tag: 'P' as const, ns: f.str(), level: f.int(), pidns: f.int(), netns: f.int()}
    return f.ok && f.atEnd ? line : bad('bad P line')
  }
  if (tag === 'Q' || tag === 'H') {
    const ns = f.str()
    if (tag === 'H' && f.ok && !f.atEnd) return heartbeatLine(f, ns)
    return f.ok && f.atEnd ? {tag, ns} : bad(`bad ${tag} line`)
  }
  let line: RawLine
  const ns = f.str()
  switch (tag) {
    case 'S': {
      const enterNs = f.str()
      const via = f.int(), a1 = f.int(), a2 = f.int(), sig = f.int(), ret = f.int(), pgid = f.int(), suppressed = f.int()
      const actor = actorOf(f)
      line = {tag, ns, enterNs, via, a1, a2, sig, ret, pgid, suppressed, actor, comm: f.rest()}
      break
    }
    case 'G': {
      const enterNs = f.str()
      const sig = f.int(), code = f.int(), result = f.int(), group = f.int(), targetTid = f.int()
      const tgid = f.int(), innerTid = f.int(), innerPid = f.int(), pidns = f.int(), level = f.int()
      const netns = f.int(), ipcns = f.int(), utsns = f.int(), mntns = f.int()
      // the target as read in the kernel (rawtracepoint form), or null (tracepoint form: zeros)
      const target: Actor | null = pidns === 0 ? null : {tid: targetTid, pid: tgid, innerTid, innerPid, pidns, level, netns, ipcns, utsns, mntns, cgroupId: 0, ppid: 0}
      const actor = actorOf(f)
      line = {tag, ns, enterNs, sig, code, result, group, targetTid, target, actor, targetComm: f.rest()}
      break
    }
    case 'D': {
      const sig = f.int(), code = f.int(), handler = f.int()
      line = {tag, ns, sig, code, handler, actor: actorOf(f), comm: ''}
      line.comm = f.rest()
      break
    }
    case 'E': {
      const exitCode = f.int(), groupDead = f.int() !== 0, how = f.int()
      line = {tag, ns, exitCode, groupDead, how, actor: actorOf(f), comm: ''}
      line.comm = f.rest()
      break
    }
    case 'W': {
      const syscall = f.int(), ret = f.int(), status = f.int(), options = f.int(), which = f.int(), upid = f.int()
      const siPid = f.int(), siCode = f.int(), siStatus = f.int()
      line = {tag, ns, syscall, ret, status, options, which, upid, siPid, siCode, siStatus, actor: actorOf(f), comm: ''}
      line.comm = f.rest()
      break
    }
    case 'F': {
      const childTid = f.int(), thread = f.int() !== 0
      line = {tag, ns, childTid, thread, actor: actorOf(f), comm: ''}
      line.comm = f.rest()
      break
    }
    case 'X': {
      const oldTid = f.int()
      line = {tag, ns, oldTid, actor: actorOf(f), filename: ''}
      line.filename = f.rest()
      break
    }
    case 'Y': {
      // an exec whose file name read back empty, with the new comm in its place: an X line
      const oldTid = f.int()
      line = {tag: 'X', ns, oldTid, actor: actorOf(f), filename: ''}
      line.comm = f.rest()
      break
    }
    default:
      return bad(`unknown tag ${JSON.stringify(tag)}`)
  }
  if (!f.ok) return bad(`short or non-numeric ${tag} line`)
  return line
}

/** Kernel nanoseconds (decimal string) minus a base, as a number; exact while the difference < 2^53. */
export function nsSince(ns: string, base: string): number {
  if (ns.length <= 15 && base.length <= 15) return Number(ns) - Number(base)
  return Number(BigInt(ns) - BigInt(base))
}
