import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP, UsageError} from '../errors.js'
import {parseSpeed, parseTraceFilters, runtimeNoiseFlag, traceFileArgs, traceFilterFlags} from '../flags.js'
import type {ReplayResult} from '../replay/replay.js'

export default class Replay extends BaseCommand {
  static override summary = 'Play trace files back as text or JSON lines'
  static override description = `Reads trace files written by record (plain or gzip, detected from their bytes) and prints their records: --json as the same JSON lines, byte for byte, --text (the default) as one readable line per event.

Several files (several nodes, or consecutive recordings) are merged in wall-clock order (each event's "ts"); each file keeps its own order. When the files come from more than one host, every JSON record but the headers gets a "host" field, and text lines show the host after the time.

--tui plays the records through the live timeline view of watch (on a terminal), at real time by default; the view stays up when the files are done, q quits.

--speed X plays at real time × X (2 = twice as fast); 0 is as fast as possible, the default for --text and --json.

A damaged file (no footer, a half-written last line, a bad line in the middle) still replays everything readable, with one warning line on stderr. A file that is not a trace (exit 2) or of a newer format version (exit 3) stops the replay before anything is printed.

${EXIT_CODE_HELP}`

  static override examples = [
    {description: 'Read a recording', command: '<%= config.bin %> replay trace.jsonl.gz'},
    {description: 'Two nodes, one timeline, as JSON', command: '<%= config.bin %> replay node-a.jsonl.gz node-b.jsonl.gz --json'},
    {description: 'Only what PID 4242 did or received, at the speed it happened', command: '<%= config.bin %> replay trace.jsonl --pid 4242 --speed 1'},
    {description: 'One pod, SIGTERM and SIGKILL only', command: '<%= config.bin %> replay trace.jsonl --pod web-0 --signal TERM --signal KILL'},
  ]

  // Several files: the first is the required argument, the others come in argv.
  static override strict = false
  static override args = {file: Args.string({description: 'trace file(s); several are merged by wall clock'})}
  static override flags = {
    json: Flags.boolean({description: 'print the JSON records, as stored', exclusive: ['text', 'tui']}),
    text: Flags.boolean({description: 'print one text line per event (default)', exclusive: ['json', 'tui']}),
    tui: Flags.boolean({description: 'play the records in the timeline view of watch (needs a terminal)', exclusive: ['json', 'text']}),
    speed: Flags.string({description: 'real time × this factor; 0 = as fast as possible (default 0; 1 with --tui)'}),
    ...traceFilterFlags,
    ...runtimeNoiseFlag,
  }

  async run(): Promise<ReplayResult> {
    const {argv, flags} = await this.parse(Replay)
    const files = traceFileArgs(argv, 'replay')
    const filters = parseTraceFilters(flags)
    const speed = flags.speed === undefined ? (flags.tui ? 1 : 0) : parseSpeed(flags.speed)
    if (flags.tui) {
      if (!process.stdout.isTTY || !process.stdin.isTTY) throw new UsageError('replay --tui needs a terminal (stdin and stdout); use --text or --json for pipes and files.')
      // Loaded only here: Ink and React are not needed for --text and --json.
      const {replayTui} = await import('../replay/tui.js')
      const {FindingsViewState} = await import('../live/view-findings.js')
      const {Timeline} = await import('../model/timeline.js')
      // the view shows the findings of the files as they play (the same engine as watch and explain)
      const state = new FindingsViewState(new Timeline())
      return replayTui({files, filters, speed, state, runtimeNoise: flags['runtime-noise'], warn: (line) => process.stderr.write(`${line}\n`)})
    }
    const {replayTraces} = await import('../replay/replay.js')
    return replayTraces({
      files,
      format: flags.json ? 'json' : 'text',
      filters: {...filters},
      speed,
      out: process.stdout,
      warn: (line) => process.stderr.write(`${line}\n`),
      runtimeNoise: flags['runtime-noise'],
    })
  }
}
