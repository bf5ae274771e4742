import {Flags} from '@oclif/core'
import {readText} from '../proc/read.js'
import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP} from '../errors.js'
import {criSocketFlag} from '../flags.js'
import type {PodView} from '../sandbox/pods.js'

/** How long the first look at the runtimes may take (each CRI call has its own 2 s deadline). */
const FIRST_LOOK_MS = 8000

export default class Pods extends BaseCommand {
  static override summary = 'List the pod sandboxes on this node now'
  static override description = `Groups every process into pod sandboxes by the namespaces a pod owns: its own net namespace (id netns:INODE), on the host's network (a hostNetwork pod) its IPC namespace (ipcns:INODE), else its PID namespace (pidns:INODE); groups that a CRI runtime names as one pod's are one sandbox. Finds each sandbox's pause process (PID 1 of its PID namespace: /pause, catatonit, or the lab's pause), names the pod where a runtime or the kubelet says (a CRI runtime's socket is asked first: containerd, CRI-O, cri-dockerd), and shows the processes as a tree (host PID/PID inside the namespace) and the zombies with the status they will report. Reads /proc only; works without bpftrace. Run it as root to see every process's namespaces.

${EXIT_CODE_HELP}`

  static override examples = [
    {description: 'The sandboxes and their processes', command: 'sudo <%= config.bin %> pods'},
    {description: 'As JSON (one array of sandbox records with processes and zombies)', command: 'sudo <%= config.bin %> pods --json'},
    {description: 'Pods named by a CRI runtime whose socket is not at its standard path', command: 'sudo <%= config.bin %> pods --cri-socket /run/k3s/containerd/containerd.sock'},
  ]

  static override flags = {
    json: Flags.boolean({description: 'print one JSON array'}),
    all: Flags.boolean({description: 'add the host processes as one more entry (id "host")'}),
    ...criSocketFlag,
  }

  async run(): Promise<PodView[]> {
    const {flags} = await this.parse(Pods)
    const [{SandboxTracker}, {podMetadata, requireCriAnswer}, {CRI_SOCKET_ENV}, {buildPodViews, formatPodViews}] = await Promise.all([
      import('../sandbox/tracker.js'), import('../sandbox/metadata.js'), import('../sandbox/cri-client.js'), import('../sandbox/pods.js'),
    ])
    const meta = podMetadata({criSocket: flags['cri-socket']})
    const tracker = new SandboxTracker({meta})
    try {
      const cri = await meta.ready(FIRST_LOOK_MS)
      // a socket the user named must answer; the standard ones are asked only if they exist
      requireCriAnswer(cri, flags['cri-socket'] !== undefined || Boolean(process.env[CRI_SOCKET_ENV]))
      tracker.scan()
    } finally {
      await meta.close()
    }
    const up = readText('/proc/uptime')
    const uptime = up === undefined ? undefined : Number(up.split(' ')[0])
    const views = buildPodViews(tracker.index.all(), tracker.processes, {all: flags.all, uptimeSeconds: uptime})
    process.stdout.write(flags.json ? `${JSON.stringify(views)}\n` : `${formatPodViews(views)}\n`)
    return views
  }
}
