// Ctrl-C (SIGINT), SIGTERM and SIGHUP end a trace, a lab run or a replay view cleanly (exit 0,
// files closed, the terminal restored) instead of killing the process: record, watch,
// replay --tui and lab listen to them while they run.
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

/** Calls `onStop` on each stop signal until the returned function is called (calling it again is harmless). */
export function onStopSignals(onStop: () => void): () => void {
  for (const s of STOP_SIGNALS) process.on(s, onStop)
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, onStop)
  }
}
