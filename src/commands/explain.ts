import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP} from '../errors.js'
import {parseTraceFilters, traceFileArgs, traceFilterFlags} from '../flags.js'
import type {ExplainResult} from '../replay/explain.js'

export default class Explain extends BaseCommand {
  static override summary = 'Findings a person can act on, from trace files'
  static override description = `Reads trace files written by record (several are merged, as replay merges them) and says what they show, one finding at a time: the pod, the time span, one sentence on what happened, and what to change. For example: a SIGTERM that a container's PID 1 dropped and the SIGKILL that followed after the grace period (grace-period-exhausted), zombies a parent never reaps, a pause that died and what became of its pod, a sandbox re-created, an OOM kill, a crash loop, a signal flood. docs/findings.md lists every kind and the rule behind it.

Findings come in time order; the same files always give the same findings. Filters (--pod, --pid, --signal, …) choose the findings whose events they keep; every event is still read, so a SIGTERM's story keeps its SIGKILL. --json prints one "finding" record a line (docs/trace-format.md). Exit 0 whether or not anything was found.

${EXIT_CODE_HELP}`

  static override examples = [
    {description: 'What went wrong in a recording', command: '<%= config.bin %> explain trace.jsonl.gz'},
    {description: 'One pod, problems only', command: '<%= config.bin %> explain trace.jsonl --pod web-0 --severity problem'},
    {description: 'Two nodes, as JSON for another tool', command: '<%= config.bin %> explain node-a.jsonl.gz node-b.jsonl.gz --json'},
  ]

  static override strict = false
  static override args = {file: Args.string({description: 'trace file(s); several are merged by wall clock'})}
  static override flags = {
    json: Flags.boolean({description: 'one JSON finding record a line'}),
    severity: Flags.option({options: ['info', 'warning', 'problem'] as const, default: 'info', description: 'the least severe findings shown'})(),
    ...traceFilterFlags,
  }

  async run(): Promise<ExplainResult> {
    const {argv, flags} = await this.parse(Explain)
    const files = traceFileArgs(argv, 'explain')
    const {explainTraces} = await import('../replay/explain.js')
    const result = await explainTraces({
      files,
      filters: parseTraceFilters(flags),
      json: flags.json,
      minSeverity: flags.severity,
      out: process.stdout,
      warn: (line) => process.stderr.write(`${line}\n`),
    })
    if (!flags.json) {
      const n = result.findings.length
      process.stderr.write(n === 0 ? 'pausetrace: no findings: nothing in these traces needs acting on.\n' : `pausetrace: ${n} finding${n === 1 ? '' : 's'} (${['problem', 'warning', 'info'].map((s) => `${result.findings.filter((f) => f.severity === s).length} ${s}`).join(', ')}).\n`)
    }
    return result
  }
}
