// `explain`: trace files → findings (src/findings/), in time order. Every record of every file goes
// through the rules (a filter must not hide the SIGKILL that makes a SIGTERM's story); the filters
// then choose the findings: those with an event the filters keep, or of a sandbox they select.
// Times stay those of each finding's own file (its `host` says which node when there are
// several), so that `evidence` matches the file's events; the list is sorted on one clock.
import type {Writable} from 'node:stream'
import type {Filters} from '../events/filter.js'
import type {FindingRecord, FindingSeverity, SandboxRecord} from '../events/types.js'
import {sandboxSelected} from '../events/filter.js'
import {FindingsEngine, type Found} from '../findings/engine.js'
import {compareFindings, formatFinding} from '../findings/format.js'
import {TraceInput} from './input.js'
import {NO_FILTERS, RecordFilter} from './filter.js'
import {BatchedOutput} from './output.js'

export interface ExplainOptions {
  files: string[]
  filters: Filters
  json: boolean
  /** the least severe findings shown */
  minSeverity: FindingSeverity
  out: Writable
  warn: (line: string) => void
}

export interface ExplainResult {
  files: number
  findings: FindingRecord[]
  warnings: string[]
}

const RANK: Record<FindingSeverity, number> = {info: 0, warning: 1, problem: 2}

export async function explainTraces(opts: ExplainOptions): Promise<ExplainResult> {
  const input = await TraceInput.open(opts.files, NO_FILTERS)
  const multiHost = input.hosts.length > 1
  const hostOf = input.sources.map((s) => String(s.header.host))
  const filter = new RecordFilter(opts.filters)
  const found: Array<{f: Found; source: number}> = []
  const engine = new FindingsEngine((f, source) => found.push({f, source}), multiHost ? (s) => hostOf[s] : undefined)
  // per finding: whether the filters keep it, judged when it is found (the sandbox records seen by then)
  const kept: boolean[] = []
  const sandboxes = new Map<string, SandboxRecord>()
  const judge = (): void => {
    for (let i = kept.length; i < found.length; i++) {
      const {f, source} = found[i]
      const sb = f.record.sandbox !== null ? sandboxes.get(`${source}\0${f.record.sandbox}`) : undefined
      // with no event (a re-created sandbox, known from its record): its sandbox decides
      kept.push(!filter.active || (f.events.length > 0 ? f.events.some((e) => filter.keep(e, source)) : sb !== undefined && opts.filters.pids.length === 0 && opts.filters.signals.length === 0 && sandboxSelected(opts.filters, sb)))
    }
  }
  for await (const batch of input.batches()) {
    for (const e of batch) {
      if (e.record.type === 'sandbox') sandboxes.set(`${e.source}\0${e.record.id}`, e.record)
      if (e.record.type === 'sandbox' || e.record.type === 'event') filter.keep(e.record, e.source)
      engine.push(e.record, e.source)
      judge()
    }
  }
  engine.finish()
  judge()
  const offsetNs = input.offsetNs
  const findings = found
    .map(({f, source}, i) => ({record: f.record, offset: offsetNs[source], keep: kept[i]}))
    .filter((x) => x.keep && RANK[x.record.severity] >= RANK[opts.minSeverity])
    .sort((a, b) => compareFindings({...a.record, t: a.record.t + a.offset}, {...b.record, t: b.record.t + b.offset}))
  const output = new BatchedOutput(opts.out)
  try {
    if (opts.json) await output.write(findings.map((x) => `${JSON.stringify(x.record)}\n`).join(''))
    else await output.write(findings.length ? `${findings.map((x) => formatFinding(x.record)).join('\n\n')}\n` : '')
  } finally {
    await output.end()
  }
  return {files: input.sources.length, findings: findings.map((x) => x.record), warnings: input.warnings(opts.warn)}
}
