// The filters (src/events/filter.ts) applied to records read back from trace files: --pid, --signal,
// --pod/--namespace/--sandbox (against each file's own sandbox records), and the scope; the
// predicates are those of events/filter.ts.
import {eventInAnySandbox, eventInSandboxes, eventMatches, hasSandboxSelector, sandboxSelected, type Filters} from '../events/filter.js'
import type {SandboxRecord, TraceRecord} from '../events/types.js'
import {withKnownPod} from '../events/sandbox-record.js'

export const NO_FILTERS: Filters = {all: true, pids: [], signals: [], scope: 'file'}

export class RecordFilter {
  private readonly pids: ReadonlySet<number>
  private readonly signals: ReadonlySet<number>
  private readonly selector: boolean
  /** per file: the latest sandbox record of each id (ids are per node, so never shared between files) */
  private readonly sandboxes = new Map<number, Map<string, SandboxRecord>>()

  constructor(private readonly f: Filters) {
    this.pids = new Set(f.pids)
    this.signals = new Set(f.signals)
    this.selector = hasSandboxSelector(f)
  }

  get active(): boolean {
    return this.pids.size > 0 || this.signals.size > 0 || this.selector || this.f.scope === 'sandboxes'
  }

  /** Whether the record is shown. Header, footer and lost records always are. */
  keep(rec: TraceRecord, source = 0): boolean {
    if (rec.type === 'sandbox') {
      let m = this.sandboxes.get(source)
      if (!m) this.sandboxes.set(source, (m = new Map()))
      const known = withKnownPod(rec, m.get(rec.id))
      m.set(rec.id, known)
      return sandboxSelected(this.f, known)
    }
    if (rec.type !== 'event') return true
    if (!eventMatches(rec, this.pids, this.signals)) return false
    if (this.f.scope === 'sandboxes' && !eventInAnySandbox(rec)) return false
    if (this.selector) {
      const m = this.sandboxes.get(source)
      return eventInSandboxes(rec, this.f, (id) => m?.get(id))
    }
    return true
  }
}
