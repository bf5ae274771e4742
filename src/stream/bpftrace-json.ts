// One line of `bpftrace -f json` → a typed record. Covers the shapes of 0.17 through 0.27
// (0.24 added `count` to attached_probes/lost_events and may print big integers as strings).
// Bad input becomes a `bad` record; this never throws.

export type BtRecord =
  | {type: 'attached'; probes: number}
  | {type: 'printf'; text: string}
  | {type: 'lost'; count: number}
  | {type: 'map'; name: string; entries: MapEntry[]}
  | {type: 'other'; btType: string}
  | {type: 'bad'; reason: string; line: string}

export interface MapEntry {
  /** The key's parts: `[]` for a map without keys, `["1","10","7"]` for `@m[1, 10, 7]`. */
  key: string[]
  value: number
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v)
  return undefined
}

// bpftrace (0.17 through 0.27 at least) escapes each byte >= 0x80 of a string as a sign-extended
// "\uffffffXX", which is not JSON. Such bytes become U+00XX placeholders here and are decoded
// as UTF-8 after parsing (an invalid sequence, e.g. a comm cut mid-character, becomes U+FFFD).
const HIGH_BYTE = /\\(\\|uffffff([0-9a-fA-F]{2}))/g

function latin1ToUtf8(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return s
  return Buffer.from(s, 'latin1').toString('utf8')
}

const PRINTF_HEAD = '{"type": "printf", "data": "'
const PRINTF_TAIL = '\\n"}'

/** the first character a JSON string would have to escape */
const NEEDS_ESCAPE = /["\\\x00-\x1f]/g

/**
 * The common printf line (no escapes but its closing \n) read without JSON.parse; else undefined.
 * Its text is given without the closing newline (parseRawLine takes either).
 */
function fastPrintf(line: string): BtRecord | undefined {
  if (!line.startsWith(PRINTF_HEAD) || !line.endsWith(PRINTF_TAIL)) return undefined
  const end = line.length - PRINTF_TAIL.length
  NEEDS_ESCAPE.lastIndex = PRINTF_HEAD.length
  // one native scan: the first such character must be the backslash of the closing \n
  if (NEEDS_ESCAPE.exec(line)?.index !== end) return undefined
  return {type: 'printf', text: line.slice(PRINTF_HEAD.length, end)}
}

export function parseBpftraceLine(line: string): BtRecord | null {
  const fast = fastPrintf(line)
  if (fast) return fast
  if (line.trim() === '') return null
  let o: unknown
  let highBytes = false
  if (line.includes('\\uffffff')) {
    line = line.replace(HIGH_BYTE, (m: string, _g: string, hex?: string) => {
      if (!hex) return m
      highBytes = true
      return `\\u00${hex}`
    })
  }
  try {
    o = JSON.parse(line)
  } catch {
    return {type: 'bad', reason: 'not JSON', line: line.slice(0, 200)}
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return {type: 'bad', reason: 'not a JSON object', line: line.slice(0, 200)}
  const r = o as Record<string, unknown>
  const data = r.data as Record<string, unknown> | undefined
  switch (r.type) {
    case 'printf': {
      if (typeof r.data !== 'string') return {type: 'bad', reason: 'printf without text', line: line.slice(0, 200)}
      return {type: 'printf', text: highBytes ? latin1ToUtf8(r.data) : r.data}
    }
    case 'attached_probes': {
      const n = num(r.count) ?? num(data?.probes)
      return n === undefined ? {type: 'bad', reason: 'attached_probes without a count', line: line.slice(0, 200)} : {type: 'attached', probes: n}
    }
    case 'lost_events': {
      const n = num(r.count) ?? num(data?.events)
      return n === undefined ? {type: 'bad', reason: 'lost_events without a count', line: line.slice(0, 200)} : {type: 'lost', count: n}
    }
    case 'map': {
      if (typeof data !== 'object' || data === null) return {type: 'bad', reason: 'map without data', line: line.slice(0, 200)}
      const names = Object.keys(data)
      if (names.length !== 1) return {type: 'bad', reason: 'map record with several maps', line: line.slice(0, 200)}
      const name = names[0]
      const v = data[name]
      const entries: MapEntry[] = []
      const scalar = num(v)
      if (scalar !== undefined) entries.push({key: [], value: scalar})
      else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        for (const [k, val] of Object.entries(v)) {
          const n = num(val)
          if (n === undefined) return {type: 'bad', reason: `map ${name} has a non-numeric value`, line: line.slice(0, 200)}
          entries.push({key: k.split(',').map((s) => s.trim()), value: n})
        }
      } else return {type: 'bad', reason: `map ${name} has an unknown shape`, line: line.slice(0, 200)}
      return {type: 'map', name, entries}
    }
    default:
      return typeof r.type === 'string' ? {type: 'other', btType: r.type} : {type: 'bad', reason: 'record without type', line: line.slice(0, 200)}
  }
}
