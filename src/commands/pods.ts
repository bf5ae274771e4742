import {Flags} from '@oclif/core'
import {readFileSync} from 'node:fs'
import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP} from '../errors.js'
import type {PodView} from '../sandbox/pods.js'

export default class Pods extends BaseCommand {
  static override summary = 'List the pod sandboxes on this node now'
  static override description = `Groups every process by its net, IPC and UTS namespaces (and PID namespace), finds each sandbox's pause process (PID 1 of its PID namespace: /pause, catatonit, or the lab's pause), names the pod where a runtime or the kubelet says, and shows the processes as a tree (host PID/PID inside the namespace) and the zombies with the status they will report. Reads /proc only; works without bpftrace. Run it as root to see every process's namespaces.

${EXIT_CODE_HELP}`

  static override examples = [
    {description: 'The sandboxes and their processes', command: 'sudo <%= config.bin %> pods'},
    {description: 'As JSON (one array of sandbox records with processes and zombies)', command: 'sudo <%= config.bin %> pods --json'},
  ]

  static override flags = {
    json: Flags.boolean({description: 'print one JSON array'}),
    all: Flags.boolean({description: 'add the host processes as one more entry (id "host")'}),
  }

  async run(): Promise<PodView[]> {
    const {flags} = await this.parse(Pods)
    const [{SandboxTracker}, {podMetadata}, {buildPodViews, formatPodViews}] = await Promise.all([import('../sandbox/tracker.js'), import('../sandbox/metadata.js'), import('../sandbox/pods.js')])
    const tracker = new SandboxTracker({meta: podMetadata()})
    tracker.scan()
    let uptime: number | undefined
    try {
      uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0])
    } catch {
      uptime = undefined
    }
    const views = buildPodViews(tracker.index.all(), tracker.processes, {all: flags.all, uptimeSeconds: uptime})
    process.stdout.write(flags.json ? `${JSON.stringify(views)}\n` : `${formatPodViews(views)}\n`)
    return views
  }
}
