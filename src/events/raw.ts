// One printf line of bpf/*.bt → a typed raw line (see bpf/README.md for the layout).
// Times stay as kernel nanosecond strings until the decoder makes them relative: uptime in
// nanoseconds passes 2^53 after 104 days, so they are never turned into plain numbers whole.

export interface Actor {
  tid: number
  pid: number
  innerTid: number
  innerPid: number
  pidns: number
  level: number
  netns: number
  ipcns: number
  utsns: number
  mntns: number
  cgroupId: number
  ppid: number
}

interface Base {
  ns: string
}

export type RawLine =
  | (Base & {tag: 'P'; level: number; pidns: number; netns: number})
  | (Base & {tag: 'Q'})
  | (Base & {tag: 'S'; enterNs: string; via: number; a1: number; a2: number; sig: number; ret: number; pgid: number; suppressed: number; actor: Actor; comm: string})
  | (Base & {tag: 'G'; enterNs: string; sig: number; code: number; result: number; group: number; targetTid: number; target: Actor | null; actor: Actor; targetComm: string})
  | (Base & {tag: 'D'; sig: number; code: number; handler: number; actor: Actor; comm: string})
  | (Base & {tag: 'E'; exitCode: number; groupDead: boolean; how: number; actor: Actor; comm: string})
  | (Base & {tag: 'W'; syscall: number; ret: number; status: number; options: number; which: number; upid: number; siPid: number; siCode: number; siStatus: number; actor: Actor; comm: string})
  | (Base & {tag: 'F'; childTid: number; thread: boolean; actor: Actor; comm: string})
  | (Base & {tag: 'X'; oldTid: number; actor: Actor; filename: string})

/** Numeric fields after the time, per tag, before the actor block. */
const FIXED: Record<string, number> = {S: 8, G: 15, D: 3, E: 3, W: 9, F: 2, X: 1}
const ACTOR_FIELDS = 12
const INT = /^-?\d+$/

export type RawParse = RawLine | {tag: 'bad'; reason: string}

function bad(reason: string): RawParse {
  return {tag: 'bad', reason}
}

/** Splits off `count` space-separated tokens; the rest of the line (may hold spaces) is the free text. */
function tokens(text: string, count: number): {parts: string[]; rest: string} | undefined {
  const parts: string[] = []
  let pos = 0
  for (let i = 0; i < count; i++) {
    const sp = text.indexOf(' ', pos)
    if (sp === -1) {
      if (i === count - 1) {
        parts.push(text.slice(pos))
        return {parts, rest: ''}
      }
      return undefined
    }
    parts.push(text.slice(pos, sp))
    pos = sp + 1
  }
  return {parts, rest: text.slice(pos)}
}

export function parseRawLine(printf: string): RawParse {
  const text = printf.endsWith('\n') ? printf.slice(0, -1) : printf
  const tag = text.charAt(0)
  if (text.charAt(1) !== ' ') return bad('no tag')
  if (tag === 'P') {
    const t = tokens(text.slice(2), 4)
    if (!t || !t.parts.every((p) => INT.test(p))) return bad('bad P line')
    return {tag: 'P', ns: t.parts[0], level: Number(t.parts[1]), pidns: Number(t.parts[2]), netns: Number(t.parts[3])}
  }
  if (tag === 'Q') return INT.test(text.slice(2)) ? {tag: 'Q', ns: text.slice(2)} : bad('bad Q line')
  const fixed = FIXED[tag]
  if (fixed === undefined) return bad(`unknown tag ${JSON.stringify(tag)}`)
  const t = tokens(text.slice(2), 1 + fixed + ACTOR_FIELDS)
  if (!t) return bad(`short ${tag} line`)
  const p = t.parts
  for (const x of p) if (!INT.test(x)) return bad(`non-numeric field in ${tag} line`)
  const n = (i: number): number => Number(p[i])
  const a = 1 + fixed
  const actor: Actor = {
    tid: n(a), pid: n(a + 1), innerTid: n(a + 2), innerPid: n(a + 3), pidns: n(a + 4), level: n(a + 5),
    netns: n(a + 6), ipcns: n(a + 7), utsns: n(a + 8), mntns: n(a + 9), cgroupId: n(a + 10), ppid: n(a + 11),
  }
  const ns = p[0]
  const free = t.rest
  switch (tag) {
    case 'S':
      return {tag, ns, enterNs: p[1], via: n(2), a1: n(3), a2: n(4), sig: n(5), ret: n(6), pgid: n(7), suppressed: n(8), actor, comm: free}
    case 'G': {
      // the target as read in the kernel (rawtracepoint form), or null (tracepoint form: zeros)
      const target: Actor | null = n(10) === 0 ? null : {
        tid: n(6), pid: n(7), innerTid: n(8), innerPid: n(9), pidns: n(10), level: n(11), netns: n(12), ipcns: n(13), utsns: n(14), mntns: n(15), cgroupId: 0, ppid: 0,
      }
      return {tag, ns, enterNs: p[1], sig: n(2), code: n(3), result: n(4), group: n(5), targetTid: n(6), target, actor, targetComm: free}
    }
    case 'D':
      return {tag, ns, sig: n(1), code: n(2), handler: n(3), actor, comm: free}
    case 'E':
      return {tag, ns, exitCode: n(1), groupDead: n(2) !== 0, how: n(3), actor, comm: free}
    case 'W':
      return {tag, ns, syscall: n(1), ret: n(2), status: n(3), options: n(4), which: n(5), upid: n(6), siPid: n(7), siCode: n(8), siStatus: n(9), actor, comm: free}
    case 'F':
      return {tag, ns, childTid: n(1), thread: n(2) !== 0, actor, comm: free}
    case 'X':
      return {tag, ns, oldTid: n(1), actor, filename: free}
    default:
      return bad(`unknown tag ${tag}`)
  }
}

/** Kernel nanoseconds (decimal string) minus a base, as a number; exact while the difference < 2^53. */
export function nsSince(ns: string, base: string): number {
  if (ns.length <= 15 && base.length <= 15) return Number(ns) - Number(base)
  return Number(BigInt(ns) - BigInt(base))
}
