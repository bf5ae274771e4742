import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP} from '../errors.js'
import {filterFlags, parsePids, parseSignals} from '../flags.js'
import {describeProblems, readTrace, type ReadProblems} from '../replay/reader.js'
import {formatRecord} from '../ui/text-line.js'
import {eventMatches} from '../events/filter.js'

export default class Replay extends BaseCommand {
  static override summary = 'Play a trace file back as text or JSON lines'
  static override description = `Reads a trace file written by record (plain or .gz, detected from its bytes) and prints its records: --json as the same JSON lines, --text (the default) as one readable line per event. A damaged file (no footer, a half-written last line, a bad line in the middle) still replays everything readable, with one warning line on stderr.

${EXIT_CODE_HELP}`

  static override examples = [
    {description: 'Read a recording', command: '<%= config.bin %> replay trace.jsonl.gz'},
    {description: 'Only what PID 4242 did or received, as JSON', command: '<%= config.bin %> replay trace.jsonl --json --pid 4242'},
  ]

  static override args = {file: Args.string({description: 'trace file', required: true})}
  static override flags = {
    json: Flags.boolean({description: 'print JSON lines (the trace records)', exclusive: ['text']}),
    text: Flags.boolean({description: 'print one text line per event (default)', exclusive: ['json']}),
    pid: filterFlags.pid,
    signal: filterFlags.signal,
  }

  async run(): Promise<{records: number}> {
    const {args, flags} = await this.parse(Replay)
    const pids = new Set(parsePids(flags.pid))
    const signals = new Set(parseSignals(flags.signal))
    const problems: ReadProblems = {badLines: 0, noFooter: false, cutLastLine: false}
    let n = 0
    let out: string[] = []
    const flush = (): void => {
      if (out.length) process.stdout.write(out.join(''))
      out = []
    }
    for await (const rec of readTrace(args.file, problems)) {
      if (rec.type === 'event' && !eventMatches(rec, pids, signals)) continue
      if (flags.json) out.push(`${JSON.stringify(rec)}\n`)
      else if (rec.type === 'event' || rec.type === 'lost') out.push(`${formatRecord(rec)}\n`)
      n++
      if (out.length >= 512) flush()
    }
    flush()
    const warning = describeProblems(args.file, problems)
    if (warning) process.stderr.write(`pausetrace: ${warning}\n`)
    return {records: n}
  }
}
