import {Args, Flags} from '@oclif/core'
import os from 'node:os'
import {BaseCommand} from '../base-command.js'
import {EXERCISES} from '../lab/exercises.js'
import type {LabResult} from '../lab/run-lab.js'
import {RUNTIMES} from '../lab/runtime.js'
import {bpftraceFlag, metricsFlags, parseDurationMs, parseMetricsFlags} from '../flags.js'

export interface LabListItem {
  id: string
  title: string
  runtimes: string[]
}

export default class Lab extends BaseCommand {
  static override summary = 'Run a lab exercise: build a sandbox, act on it, trace it, check what the kernel did'
  static override description = `With no exercise: lists them (id, title, runtimes). With one: builds the sandboxes it needs (runtime "namespaces": unshare and nsenter around the project's own pause; "podman": real pods, containers run from a busybox directory, nothing pulled; "cri": Kubernetes pod sandboxes on a private containerd the lab starts and stops, driven like a kubelet, which also re-creates a sandbox whose pause died), narrates each step and the commands it runs, traces everything live with bpftrace, shows each step's part of the trace next to what the kernel should do, removes everything it made (also on Ctrl-C or failure), checks by id that nothing is left, and checks the whole trace against every expectation. --json prints the trace file's records plus {"type":"lab",…} records (docs/lab.md).

EXIT CODES
  0  every expectation was met, and nothing was left behind
  1  expectations not met (listed), interrupted, or something left behind
  2  usage error (unknown exercise, a runtime the exercise does not support)
  3  environment: not root; tracefs, BTF, bpftrace, podman, containerd, CNI plugins, busybox, gcc missing
  4  trace failed (bpftrace died; the message carries the tail of its stderr)`

  static override examples = [
    {description: 'List the exercises', command: '<%= config.bin %> lab'},
    {description: 'Watch pause reap an orphan and ignore SIGHUP', command: 'sudo <%= config.bin %> lab pause-anatomy'},
    {description: 'The grace-period hang, in a real podman pod', command: 'sudo <%= config.bin %> lab pid1-ignores-sigterm --runtime podman'},
    {description: 'pause killed in a CRI pod sandbox, and the sandbox re-created (attempt 1)', command: 'sudo <%= config.bin %> lab kill-pause --runtime cri'},
  ]

  static override args = {
    exercise: Args.string({description: `exercise to run: ${EXERCISES.map((e) => e.id).join(', ')}`, required: false}),
  }

  static override flags = {
    runtime: Flags.string({description: 'how sandboxes are made', options: [...RUNTIMES], default: 'namespaces'}),
    json: Flags.boolean({description: 'newline-delimited JSON: trace records and lab records'}),
    'step-timeout': Flags.string({description: 'how long a step waits for the events it expects before it counts them as not seen: 15s (default), 1m'}),
    ...metricsFlags,
    ...bpftraceFlag,
  }

  async run(): Promise<LabListItem[] | LabResult> {
    const {args, flags} = await this.parse(Lab)
    if (!args.exercise) {
      const items = EXERCISES.map((e) => ({id: e.id, title: e.title, runtimes: [...e.runtimes]}))
      if (flags.json) for (const i of items) process.stdout.write(`${JSON.stringify(i)}\n`)
      else {
        const width = Math.max(...items.map((i) => i.id.length))
        for (const i of items) process.stdout.write(`${i.id.padEnd(width)}  ${i.title}  [${i.runtimes.join(', ')}]\n`)
        process.stdout.write(`\nRun one: sudo pausetrace lab EXERCISE [--runtime ${RUNTIMES.join('|')}]\n`)
      }
      return items
    }
    const {LabMismatchError, runLab} = await import('../lab/run-lab.js')
    const result = await runLab({
      exercise: args.exercise,
      runtime: flags.runtime,
      json: flags.json,
      bpftrace: flags.bpftrace,
      metrics: parseMetricsFlags(flags),
      stepTimeoutMs: flags['step-timeout'] === undefined ? undefined : parseDurationMs(flags['step-timeout'], '--step-timeout'),
      argv: ['lab', ...this.argv],
      host: os.hostname(),
    })
    if (!result.ok) {
      const why = result.interrupted ? 'the lab was interrupted' : result.error ? `the exercise stopped early (${result.error})` : result.leftovers.length > 0 ? `cleanup left ${result.leftovers.length} thing(s) behind (listed above)` : `${result.verdict.missing.length + result.verdict.factsFailed.length} expectation(s) were not met (listed above)`
      throw new LabMismatchError(`${args.exercise} on ${result.runtime}: ${why}.`)
    }
    return result
  }
}
