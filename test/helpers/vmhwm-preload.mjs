// Preloaded (node --import) into a CLI child by the memory tests: at exit, writes the process's
// peak resident set size (VmHWM, kB, from /proc/self/status) to file descriptor 3.
import {readFileSync, writeSync} from 'node:fs'

process.on('exit', () => {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))
  try {
    writeSync(3, `${m ? m[1] : 'unknown'}\n`)
  } catch {
    // no fd 3: not run by the memory test
  }
})
