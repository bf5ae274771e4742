// The view's state with the findings engine in front of it, for `replay --tui`: every record the
// view is fed goes to the engine as well, and its findings to the view (as `watch` does with
// LiveFindings). The files' own clock decides what waits for time: a later event, or the footer
// (files played side by side, several nodes, are one trace for the engine: the last footer ends it).
import type {TraceRecord} from '../events/types.js'
import {FindingsEngine} from '../findings/engine.js'
import {ViewState} from '../ui/view-state.js'

export class FindingsViewState extends ViewState {
  private readonly engine = new FindingsEngine((f) => this.addFinding(f.record))
  /** the files whose footer has not come yet: the last footer ends the findings' trace */
  private open = 0
  /** the engine's trace: a file that starts after the others ended (consecutive recordings) starts the next */
  private source = 0
  /** a header was fed already */
  private fed = false

  override feed(rec: TraceRecord): void {
    if (rec.type === 'header') {
      if (this.open === 0 && this.fed) this.source++
      this.open++
      this.fed = true
    } else if (rec.type !== 'footer' || --this.open <= 0) this.engine.push(rec, this.source)
    super.feed(rec)
  }
}
