// A terminal closed under a running trace (`tmux kill-session`, an ssh session dropped, a
// terminal window closed): the kernel hangs the tty up, and from then on every write to it fails
// with EIO and every terminal ioctl too. Unguarded, the first failed write (Ink's next frame, the
// closing summary) is an uncaught 'error' event: a stack trace, exit 1, no footer in the
// --record file; and Node 20, which restores the terminal's modes at exit, aborts on the failed
// tcsetattr (nodejs/node#51519). Here the terminal going away stops the trace like SIGHUP does.
import {closeSync} from 'node:fs'
import {isatty} from 'node:tty'

/**
 * For the standard streams that are terminals now: an error on one of them calls `onGone`
 * (once) instead of crashing the process, and at exit the descriptors of a terminal that has
 * been hung up are closed, so that Node's restore of the terminal's modes skips them.
 * `stdin`: also guard standard input (only where it is read: it is not opened otherwise).
 */
export function guardTerminal(onGone: () => void, opts: {stdin?: boolean} = {}): void {
  const ttys = [0, 1, 2].filter((fd) => isatty(fd))
  if (ttys.length === 0) return
  let gone = false
  const streams: Record<number, NodeJS.ReadStream | NodeJS.WriteStream> = {0: process.stdin, 1: process.stdout, 2: process.stderr}
  for (const fd of ttys.filter((fd) => fd > 0 || opts.stdin)) {
    // oclif rethrows every error on stdout but EPIPE (a pipe's); on a terminal this one decides
    for (const l of streams[fd].listeners('error')) streams[fd].off('error', l as (...a: unknown[]) => void)
    streams[fd].on('error', () => {
      if (gone) return
      gone = true
      onGone()
    })
  }
  process.once('exit', () => {
    // Node restores the modes of every standard descriptor that was a terminal at its start, read
    // or not. A terminal still there is left alone; a hung-up one is no longer a terminal to
    // isatty (its ioctls fail with EIO).
    for (const fd of ttys) {
      if (isatty(fd)) continue
      try {
        closeSync(fd)
      } catch {
        // already closed
      }
    }
  })
}
