// Error classes and the exit-code table (docs/trace-format.md). Library code throws these; only the
// command layer prints them (one line, the fix included) and exits.

export const EXIT = {ok: 0, unexpected: 1, usage: 2, environment: 3, traceFailed: 4} as const

export const EXIT_CODE_HELP = `EXIT CODES
  0  ok (Ctrl-C on a trace is ok)
  1  unexpected error
  2  usage error (bad flag or argument)
  3  environment (not root, bpftrace missing or too old, tracefs or a probe unavailable)
  4  trace failed (bpftrace died; the message carries the tail of its stderr)`

export class PausetraceError extends Error {
  constructor(message: string, readonly exitCode: number, readonly code: string) {
    super(message)
    this.name = new.target.name
  }
}

export class UsageError extends PausetraceError {
  constructor(message: string) {
    super(message, EXIT.usage, 'USAGE')
  }
}

export class EnvironmentError extends PausetraceError {
  constructor(message: string, code = 'ENVIRONMENT') {
    super(message, EXIT.environment, code)
  }
}

export class TraceFailedError extends PausetraceError {
  constructor(message: string, readonly stderrTail = '') {
    super(stderrTail ? `${message}: ${stderrTail}` : message, EXIT.traceFailed, 'TRACE_FAILED')
  }
}
