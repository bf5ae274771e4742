// Checks a Chrome/Perfetto trace-event JSON file the way Perfetto's JSON importer reads it:
// required keys per phase, metadata for every track, s/f flow pairs with one id each, every
// flow end bound to a slice open on its track, and slices of a thread strictly nested (Perfetto
// drops a slice that overlaps another partially). Returns counts for exact assertions.
import assert from 'node:assert/strict'

export interface TraceEventJson {
  ph: string
  name: string
  ts: number
  pid: number
  tid: number
  cat?: string
  dur?: number
  s?: string
  id?: number
  bp?: string
  args?: Record<string, any>
}

export interface PerfettoSummary {
  events: TraceEventJson[]
  byPhase: Record<string, number>
  processNames: Map<number, string>
  threadNames: Map<string, string>
  flows: Map<number, {s: TraceEventJson; f: TraceEventJson}>
}

const ns = (us: number): number => Math.round(us * 1000)
const key = (e: {pid: number; tid: number}): string => `${e.pid}/${e.tid}`

export function checkPerfetto(text: string): PerfettoSummary {
  const doc = JSON.parse(text) as {traceEvents: TraceEventJson[]; displayTimeUnit?: string}
  assert.ok(Array.isArray(doc.traceEvents), 'traceEvents is an array')
  assert.equal(doc.displayTimeUnit, 'ns')
  const events = doc.traceEvents
  const byPhase: Record<string, number> = {}
  const processNames = new Map<number, string>()
  const threadNames = new Map<string, string>()
  const starts = new Map<number, TraceEventJson>()
  const ends = new Map<number, TraceEventJson>()
  for (const [i, e] of events.entries()) {
    const where = `event ${i} ${JSON.stringify(e)}`
    for (const k of ['ph', 'name', 'ts', 'pid', 'tid'] as const) assert.ok(k in e, `${where}: no ${k}`)
    assert.equal(typeof e.name, 'string', where)
    assert.ok(Number.isFinite(e.ts) && e.ts >= 0, `${where}: ts`)
    assert.ok(Number.isInteger(e.pid) && Number.isInteger(e.tid), `${where}: pid/tid are integers`)
    byPhase[e.ph] = (byPhase[e.ph] ?? 0) + 1
    switch (e.ph) {
      case 'M':
        assert.ok(['process_name', 'thread_name', 'process_sort_index'].includes(e.name), `${where}: metadata name`)
        if (e.name === 'process_name') processNames.set(e.pid, String(e.args?.name))
        if (e.name === 'thread_name') threadNames.set(key(e), String(e.args?.name))
        if (e.name.endsWith('_name')) assert.equal(typeof e.args?.name, 'string', `${where}: args.name`)
        else assert.ok(Number.isInteger(e.args?.sort_index), `${where}: args.sort_index`)
        break
      case 'X':
        assert.ok(typeof e.dur === 'number' && e.dur >= 0, `${where}: dur`)
        break
      case 'i':
        assert.ok(e.s === 't' || e.s === 'p' || e.s === 'g', `${where}: instant scope`)
        break
      case 's':
      case 'f':
        assert.ok(Number.isInteger(e.id), `${where}: flow id`)
        assert.equal(typeof e.cat, 'string', `${where}: flow cat`)
        if (e.ph === 'f') assert.equal(e.bp, 'e', `${where}: flow end binds to the enclosing slice`)
        assert.ok(!(e.ph === 's' ? starts : ends).has(e.id as number), `${where}: flow id used twice`)
        ;(e.ph === 's' ? starts : ends).set(e.id as number, e)
        break
      default:
        assert.fail(`${where}: unexpected phase`)
    }
  }
  const flows = new Map<number, {s: TraceEventJson; f: TraceEventJson}>()
  for (const [id, s] of starts) {
    const f = ends.get(id)
    assert.ok(f, `flow ${id} has a start and no end`)
    assert.equal(f.name, s.name, `flow ${id}: names differ`)
    assert.equal(f.cat, s.cat, `flow ${id}: categories differ`)
    assert.ok(f.ts >= s.ts, `flow ${id} ends before it starts`)
    flows.set(id, {s, f})
  }
  for (const id of ends.keys()) assert.ok(starts.has(id), `flow ${id} has an end and no start`)

  // Names for every track that carries events.
  for (const e of events) {
    if (e.ph === 'M' || (e.ph === 'i' && e.s === 'g')) continue
    assert.ok(processNames.has(e.pid), `pid ${e.pid} has no process_name`)
    assert.ok(threadNames.has(key(e)), `thread ${key(e)} has no thread_name`)
  }

  // Strict nesting per thread, in Perfetto's order (ts, then longer first, then file order).
  const slices = new Map<string, Array<{start: number; end: number; i: number; e: TraceEventJson}>>()
  events.forEach((e, i) => {
    if (e.ph !== 'X') return
    const list = slices.get(key(e)) ?? []
    list.push({start: ns(e.ts), end: ns(e.ts) + ns(e.dur as number), i, e})
    slices.set(key(e), list)
  })
  for (const [track, list] of slices) {
    list.sort((a, b) => a.start - b.start || b.end - b.start - (a.end - a.start) || a.i - b.i)
    const stack: Array<{end: number; e: TraceEventJson}> = []
    for (const s of list) {
      while (stack.length && stack[stack.length - 1].end <= s.start && !(stack[stack.length - 1].end === s.start && s.end === s.start && stack[stack.length - 1].end - ns(stack[stack.length - 1].e.ts) === 0)) stack.pop()
      const top = stack[stack.length - 1]
      if (top) assert.ok(s.end <= top.end, `track ${track}: ${JSON.stringify(s.e)} overlaps ${JSON.stringify(top.e)} partially`)
      stack.push({end: s.end, e: s.e})
    }
  }

  // Every flow binds to a slice open on its track at its time (Perfetto drops the arrow otherwise).
  const openAt = (e: TraceEventJson): boolean =>
    (slices.get(key(e)) ?? []).some((s) => s.start <= ns(e.ts) && ns(e.ts) < Math.max(s.end, s.start + 1))
  for (const [id, {s, f}] of flows) {
    assert.ok(openAt(s), `flow ${id}: no slice open on the sender's track ${key(s)} at ${s.ts}`)
    assert.ok(openAt(f), `flow ${id}: no slice open on the receiver's track ${key(f)} at ${f.ts}`)
  }
  return {events, byPhase, processNames, threadNames, flows}
}
