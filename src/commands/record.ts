import {Flags} from '@oclif/core'
import os from 'node:os'
import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP, TraceFailedError} from '../errors.js'
import {bpftraceFlag, criSocketFlag, metricsFlags, parseMetricsFlags, filterFlags, parseDurationMs, parseFilters, parseSize} from '../flags.js'
import type {RecordResult} from '../live/record.js'

export default class Record extends BaseCommand {
  static override summary = 'Record signals, exits and reaps to a trace file'
  static override description = `Starts bpftrace on the kill family of syscalls, signal generation and delivery, exits,
wait4/waitid, fork and exec, and writes one JSON record per line (docs/trace-format.md): a
header once every probe is attached (so a script may start its workload as soon as the file
has a line),
sandbox and event records, lost-event records, and a footer with counts and why it stopped.
The file is created with mode 0600; a name ending in .gz is written gzip-compressed.
Stops on Ctrl-C / SIGTERM / SIGHUP (exit 0), after --duration, at --max-size, or when
bpftrace dies (exit 4). A summary goes to stderr; with --explain, the findings follow it
(docs/findings.md).

${EXIT_CODE_HELP}`

  static override examples = [
    {description: 'Record everything for 30 seconds', command: 'sudo <%= config.bin %> record -o trace.jsonl --all --duration 30s'},
    {description: 'Only SIGTERM and SIGKILL, compressed, at most 50 MB', command: 'sudo <%= config.bin %> record -o trace.jsonl.gz --all --signal TERM --signal KILL --max-size 50MB'},
    {description: 'On k3s, pods named by its containerd', command: 'sudo <%= config.bin %> record -o trace.jsonl --cri-socket /run/k3s/containerd/containerd.sock'},
    {description: 'Record for a minute, then say what went wrong', command: 'sudo <%= config.bin %> record -o trace.jsonl --duration 1m --explain'},
    {description: 'On every node (the DaemonSet): Prometheus metrics while recording', command: 'sudo <%= config.bin %> record -o /var/log/pausetrace/trace.jsonl.gz --metrics 0.0.0.0:9479'},
    {description: 'Stream records to another program', command: "sudo <%= config.bin %> record -o - --all --pid 4242 | jq -c 'select(.kind==\"reap\")'"},
  ]

  static override flags = {
    output: Flags.string({char: 'o', description: 'trace file to write ("-" for stdout; .gz for gzip)', required: true}),
    duration: Flags.string({description: 'stop after this long: 30s, 5m, 1h'}),
    'max-size': Flags.string({description: 'stop once the file holds this much: 10MB, 1GB'}),
    force: Flags.boolean({description: 'overwrite an existing file (never through a symlink)'}),
    explain: Flags.boolean({description: 'after the summary, print the findings (as `explain` would give them for the file)'}),
    ...filterFlags,
    ...criSocketFlag,
    ...metricsFlags,
    ...bpftraceFlag,
  }

  async run(): Promise<RecordResult> {
    const {flags} = await this.parse(Record)
    const {startMark} = await import('../util/start-log.js')
    startMark('record: flags parsed')
    // every flag's value first: a usage error leaves nothing started (not even the version probe)
    const filters = parseFilters(flags)
    const durationMs = flags.duration === undefined ? undefined : parseDurationMs(flags.duration, '--duration')
    const maxSize = flags['max-size'] === undefined ? undefined : parseSize(flags['max-size'], '--max-size')
    const metrics = parseMetricsFlags(flags)
    const {probeBpftraceEarly} = await import('../live/early-probe.js')
    const bpftraceProbe = probeBpftraceEarly(flags.bpftrace)
    const {recordTrace} = await import('../live/record.js')
    startMark('record: code imported')
    const result = await recordTrace({
      output: flags.output,
      force: flags.force,
      filters,
      durationMs,
      maxSize,
      bpftrace: flags.bpftrace,
      bpftraceProbe,
      criSocket: flags['cri-socket'],
      metrics,
      explain: flags.explain,
      argv: ['record', ...this.argv],
      host: os.hostname(),
    })
    if (result.reason === 'bpftrace-exit') throw new TraceFailedError('bpftrace exited on its own; the trace file is closed with its footer', result.stderrTail)
    return result
  }
}
