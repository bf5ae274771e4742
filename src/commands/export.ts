import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP} from '../errors.js'
import {parseTraceFilters, traceFilterFlags} from '../flags.js'
import type {ExportResult} from '../replay/export.js'

export default class Export extends BaseCommand {
  static override summary = 'Convert a trace file to Perfetto JSON or CSV'
  static override description = `--format perfetto writes Chrome/Perfetto trace-event JSON that opens in ui.perfetto.dev: one process track per sandbox (and one for host processes), a thread track per process with its life as a slice, exits, reaps, execs and deliveries as instants, and every signal as an arrow from sender to receiver.

--format csv writes one row per event (and per lost record) with a header row, RFC 4180 quoting, for spreadsheets.

The output is created with mode 0600, never through a symbolic link, never over an existing file unless --force ("-o -" writes to stdout). The trace is read as a stream: memory stays flat however large it is. A damaged trace exports everything readable, with one warning line.

${EXIT_CODE_HELP}`

  static override examples = [
    {description: 'Open a recording in ui.perfetto.dev', command: '<%= config.bin %> export trace.jsonl.gz --format perfetto -o trace.perfetto.json'},
    {description: 'A spreadsheet of one pod\'s events', command: '<%= config.bin %> export trace.jsonl --format csv --pod web-0 -o web-0.csv'},
  ]

  static override args = {file: Args.string({description: 'trace file (plain or gzip)', required: true})}
  static override flags = {
    format: Flags.string({description: 'output format', options: ['perfetto', 'csv'], required: true}),
    output: Flags.string({char: 'o', description: 'file to write ("-" for stdout)', required: true}),
    force: Flags.boolean({description: 'overwrite an existing file (never through a symlink)'}),
    ...traceFilterFlags,
  }

  async run(): Promise<ExportResult> {
    const {args, flags} = await this.parse(Export)
    const {exportTrace} = await import('../replay/export.js')
    const result = await exportTrace({
      file: args.file,
      format: flags.format as 'perfetto' | 'csv',
      output: flags.output,
      force: flags.force,
      filters: parseTraceFilters(flags),
      warn: (line) => process.stderr.write(`${line}\n`),
    })
    if (result.output !== '-') {
      const what = result.format === 'csv' ? `${result.written} rows` : `${result.written} trace events, ${result.flows} signal arrows`
      process.stderr.write(`pausetrace: ${result.events} events → ${result.output} (${what})\n`)
    }
    return result
  }
}
