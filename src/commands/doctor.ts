import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {EXIT, EXIT_CODE_HELP} from '../errors.js'
import {bpftraceFlag, criSocketFlag} from '../flags.js'
import type {DoctorReport} from '../doctor/doctor.js'

export default class Doctor extends BaseCommand {
  static override summary = 'Check that tracing can work on this machine, and say how to fix what cannot'
  static override description = `Checks privileges (root, or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE), tracefs, BTF, which bpftrace runs and its version, that every probe attaches (it starts the real program and stops it), which container runtimes are present, and which CRI socket answers (the runtime's name and version, or why none answered). Exit 0 when tracing can work, 3 otherwise.

${EXIT_CODE_HELP}`

  static override examples = [
    {description: 'Check this machine', command: 'sudo <%= config.bin %> doctor'},
    {description: 'Machine-readable, with a bpftrace of your choice', command: 'sudo <%= config.bin %> doctor --json --bpftrace /opt/bpftrace/bin/bpftrace'},
  ]

  static override flags = {
    json: Flags.boolean({description: 'print the report as one JSON object'}),
    ...bpftraceFlag,
    ...criSocketFlag,
  }

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    const {formatDoctor, runDoctor} = await import('../doctor/doctor.js')
    const report = await runDoctor({bpftrace: flags.bpftrace, criSocket: flags['cri-socket']})
    process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : `${formatDoctor(report)}\n`)
    if (!report.ok) this.exit(EXIT.environment)
    return report
  }
}
