import {Flags} from '@oclif/core'
import os from 'node:os'
import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP, TraceFailedError} from '../errors.js'
import {bpftraceFlag, criSocketFlag, metricsFlags, parseMetricsFlags, filterFlags, parseFilters, runtimeNoiseFlag} from '../flags.js'
import type {WatchResult} from '../live/watch.js'

export default class Watch extends BaseCommand {
  static override summary = 'Watch signals, exits and reaps per pod sandbox, live'
  static override description = `On a terminal: a live timeline per sandbox, one lane for its pause and one per other process, time running left to right, marking signals ignored (I), pending (P), handled (H), taken by their default action (D) or consumed without a handler (C), exits (X), zombies (Z), reaps (R), floods (F, with their count) and where events were lost (░). The selected sandbox's detail shows the chain of one event: syscall → generated → delivered or consumed → exit → reap. Keys: q quit, space pause/resume, ↑/↓ or j/k choose a sandbox, enter details (←/→ older/newer event), / filter by text, ? help.

Not on a terminal (a pipe, a file, TERM=dumb, CI): one plain text line per event, exactly as \`replay --text\` prints them, with no escape codes. --record also writes the trace file that \`record\` would write. Ctrl-C, q, SIGTERM and SIGHUP stop cleanly (exit 0); a summary goes to stderr. See docs/watch.md.

${EXIT_CODE_HELP}`

  static override examples = [
    {description: 'Watch every pod sandbox on this node', command: 'sudo <%= config.bin %> watch'},
    {description: 'One pod, recording what is shown', command: 'sudo <%= config.bin %> watch --pod web-0 --record web-0.jsonl.gz'},
    {description: 'Watch, and serve metrics on this machine only', command: 'sudo <%= config.bin %> watch --metrics 9479'},
    {description: 'Only SIGTERM and SIGKILL, as text lines for a log', command: 'sudo <%= config.bin %> watch --signal TERM --signal KILL | tee signals.log'},
  ]

  static override flags = {
    record: Flags.string({description: 'also write the trace file (as `record -o`; .gz for gzip)'}),
    force: Flags.boolean({description: 'let --record overwrite an existing file (never through a symlink)', dependsOn: ['record']}),
    ...filterFlags,
    ...runtimeNoiseFlag,
    ...criSocketFlag,
    ...metricsFlags,
    ...bpftraceFlag,
  }

  async run(): Promise<WatchResult> {
    const {flags} = await this.parse(Watch)
    // every flag's value first: a usage error leaves nothing started (not even the version probe)
    const filters = parseFilters(flags)
    const metrics = parseMetricsFlags(flags)
    const {probeBpftraceEarly} = await import('../live/early-probe.js')
    const bpftraceProbe = probeBpftraceEarly(flags.bpftrace)
    const {wantsTty, watchTrace} = await import('../live/watch.js')
    const result = await watchTrace({
      filters,
      record: flags.record,
      force: flags.force,
      bpftrace: flags.bpftrace,
      bpftraceProbe,
      criSocket: flags['cri-socket'],
      metrics,
      argv: ['watch', ...this.argv],
      host: os.hostname(),
      mode: wantsTty() ? 'tty' : 'lines',
      runtimeNoise: flags['runtime-noise'],
    })
    if (result.reason === 'bpftrace-exit') throw new TraceFailedError(`bpftrace exited on its own${result.record ? `; ${result.record} is closed with its footer` : ''}`, result.stderrTail)
    return result
  }
}
