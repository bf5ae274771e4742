// A tmux server of the test's own (-L SOCKET): commands, the screen of a window, and a wait on it.
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

const execFileAsync = promisify(execFile)

export class TmuxServer {
  constructor(readonly socket: string) {}

  async run(args: string[]): Promise<string> {
    const {stdout} = await execFileAsync('tmux', ['-L', this.socket, ...args], {timeout: 10_000})
    return stdout
  }

  /** -J: lines the terminal wrapped come back whole */
  screen(target = 'watch'): Promise<string> {
    return this.run(['capture-pane', '-p', '-J', '-t', target])
  }

  /** Polls the screen every `everyMs` until `cond`; the last screen is in the error when it times out. */
  async waitScreen(cond: (s: string) => boolean, ms: number, what: string, everyMs = 200): Promise<string> {
    let last = ''
    const end = Date.now() + ms
    for (;;) {
      last = await this.screen()
      if (cond(last)) return last
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; the screen:\n${last}`)
      await new Promise((r) => setTimeout(r, everyMs))
    }
  }
}
