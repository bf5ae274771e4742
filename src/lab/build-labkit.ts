// Builds the lab's workload helper (labkit.c beside this file) with gcc on first use, statically
// linked so that it runs inside a container whose root is a bare busybox directory, and caches it
// by the hash of its source next to the lab pause.
import {fileURLToPath} from 'node:url'
import {ensureBuilt, type BuildOptions, type CProgram} from './build-c.js'

// Resolves to src/lab/labkit.c from both src/lab (tsx) and dist/lab (built).
export const LABKIT_SOURCE = fileURLToPath(new URL('../../src/lab/labkit.c', import.meta.url))

export type EnsureLabkitOptions = BuildOptions

const LABKIT: CProgram = {
  name: 'labkit',
  source: LABKIT_SOURCE,
  gccFlags: ['-static'],
  code: 'LABKIT',
  says: {
    source: 'the lab helper source',
    cache: 'the lab helper',
    compiled: 'the lab helper',
    failed: (source, gccSaid) => `gcc could not build the static lab helper (${source}): ${gccSaid}; a static build needs the C library's static archive: sudo apt-get install -y libc6-dev`,
  },
}

/** Path of the cached static labkit binary, compiling it first if this source has not been built. */
export function ensureLabkit(opts: EnsureLabkitOptions = {}): Promise<string> {
  return ensureBuilt(LABKIT, opts)
}
