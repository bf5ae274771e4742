// Builds the lab's own pause (pause.c beside this file) with gcc on first use, statically linked
// so that it is a whole sandbox image by itself (the CRI lab's), and caches it by the hash of its
// source, so every lab sandbox runs the same known PID 1.
import {fileURLToPath} from 'node:url'
import {ensureBuilt, type BuildOptions, type CProgram} from './build-c.js'

// Resolves to src/lab/pause.c from both src/lab (tsx) and dist/lab (built), as BPF_DIR does.
export const PAUSE_SOURCE = fileURLToPath(new URL('../../src/lab/pause.c', import.meta.url))

export type EnsurePauseOptions = BuildOptions

const PAUSE: CProgram = {
  // The file itself is named "pause" so that exec already sets comm to "pause".
  name: 'pause',
  source: PAUSE_SOURCE,
  gccFlags: ['-static'],
  code: 'PAUSE',
  says: {
    source: 'the lab pause source',
    cache: 'the lab pause binary',
    compiled: 'the lab pause',
    failed: (source, gccSaid) => `gcc could not build the static lab pause (${source}): ${gccSaid}; check that gcc and the C library with its static archive (libc6-dev) are installed.`,
  },
}

/** Path of the cached pause binary, compiling it first if this source has not been built. */
export function ensurePause(opts: EnsurePauseOptions = {}): Promise<string> {
  return ensureBuilt(PAUSE, opts)
}
