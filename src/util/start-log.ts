// Where the time to "attached" goes: with DEBUG=pausetrace:start, one line per start-up step on
// stderr, in ms since node started (performance.now() counts from the process's start).
const on = /(^|,)\s*pausetrace:start\b/.test(process.env.DEBUG ?? '')

export function startMark(step: string): void {
  if (on) process.stderr.write(`pausetrace: start +${performance.now().toFixed(1)} ms ${step}\n`)
}
