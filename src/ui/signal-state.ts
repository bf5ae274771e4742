// A signal's state as the view shows it, with its one mark and its one word: the track, the lane
// summary and the chain all read this table, so that they cannot call one state two things.
import type {SignalItem, SignalState} from '../model/timeline.js'

/** a queued signal with no delivery after this long is shown as consumed (or blocked: its chain says so) */
export const NO_DELIVERY_AFTER_NS = 250_000_000

/**
 * A signal's state as shown now: the model's, except that a queued signal with no delivery for a
 * while reads as consumed. That is what a signalfd or sigwaitinfo reader such as catatonit does to
 * every signal; the model says `consumed` only once a later one proves it. `undelivered` is kept
 * for what it means in the model: its target exited with it still queued.
 */
export function shownState(s: SignalItem, now: number): SignalState {
  return s.state === 'awaiting' && now - s.t > NO_DELIVERY_AFTER_NS ? 'consumed' : s.state
}

/**
 * Each state's mark and word, in the order a lane summary lists them (the most telling first).
 * Two states may share a word (both kinds of pending); a summary then counts them as one.
 */
/** The marks a signal can take (each is a glyph of marks.ts, which checks it). */
export type SignalMark = 'I' | 'D' | 'P' | 'C' | 'H' | '†'

export const SIGNAL_STATES: Record<SignalState, {mark: SignalMark; word: string}> = {
  ignored: {mark: 'I', word: 'ignored'},
  sig_ign: {mark: 'I', word: 'SIG_IGN'},
  default: {mark: 'D', word: 'default action'},
  coalesced: {mark: 'P', word: 'pending'},
  overflow: {mark: 'P', word: 'overflow'},
  awaiting: {mark: 'P', word: 'pending'},
  undelivered: {mark: 'C', word: 'never delivered'},
  consumed: {mark: 'C', word: 'consumed'},
  handler: {mark: 'H', word: 'handled'},
  // the words of a text line and of the legend too
  dead: {mark: '†', word: 'no effect'},
}
