// The one place errors become output: one line on stderr (the fix included) and the exit code
// of docs/trace-format.md; a stack trace only with DEBUG=pausetrace*.
// Commands import what they run inside run(): oclif imports every command module (to read its
// flags) whatever command runs, so their top level stays light and `replay` starts fast.
import {Command, Errors} from '@oclif/core'
import {EXIT, PausetraceError} from './errors.js'

export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err
    const debug = /pausetrace/.test(process.env.DEBUG ?? '')
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`)
    if (err instanceof PausetraceError) {
      process.stderr.write(`pausetrace: ${err.message}\n`)
      return this.exit(err.exitCode)
    }
    // oclif's own parse errors (unknown flag, missing value, bad option): usage, exit 2.
    if (err instanceof Errors.CLIError && !(err instanceof Errors.ExitError)) {
      // oclif wraps the messages that matter between a preamble and a help hint: keep the middle.
      const lines = err.message
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !/^The following errors? occurred:?$/.test(l) && !/^See more help with --help$/.test(l))
      process.stderr.write(`pausetrace: ${(lines.join('; ') || err.message).replace(/\.$/, '')} (see --help)\n`)
      return this.exit(EXIT.usage)
    }
    process.stderr.write(`pausetrace: unexpected error: ${err.message} (set DEBUG=pausetrace* for details)\n`)
    return this.exit(EXIT.unexpected)
  }
}
