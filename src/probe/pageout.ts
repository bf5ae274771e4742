// bpftrace keeps its compiler mapped for its whole run: LLVM's and clang's libraries, ~70 MB of
// resident pages on Debian 12 (0.17, LLVM 14), touched once while compiling and never again.
// Once the probes are attached, pausetrace asks the kernel to page them out of bpftrace's memory
// (process_madvise(2) with MADV_PAGEOUT, Linux 5.10+, CAP_SYS_NICE): they leave its RSS and its
// cgroup's charge, and come back from the file if bpftrace ever touches them again (nothing is
// lost: they are clean file pages). Node cannot make the two system calls itself, so perl does
// (perl-base is part of every Debian and Ubuntu system), given only numbers. Best effort: any
// failure leaves bpftrace as it was.
import {execFile} from 'node:child_process'
import {childrenOf, readText} from '../proc/read.js'

/** The libraries that only compile: bpftrace does not run their code once the probes are attached. */
const COMPILER_LIBRARY = /\/lib(?:LLVM|clang|clang-cpp|LLVM-\d+)[-.\w]*\.so[.\d]*$/

/** The address ranges of a process's read-only mappings of the compiler's libraries (clean file pages), from /proc/PID/maps. */
export function compilerMappings(maps: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = []
  for (const line of maps.split('\n')) {
    const f = line.split(/\s+/)
    if (f.length < 6 || f[4] === '0' || f[1].includes('w') || !COMPILER_LIBRARY.test(f[5])) continue
    const [from, to] = f[0].split('-').map((h) => Number.parseInt(h, 16))
    if (Number.isSafeInteger(from) && Number.isSafeInteger(to) && to > from) ranges.push([from, to - from])
  }
  return ranges
}

// pidfd_open (434) and process_madvise (440) have these numbers on every architecture; MADV_PAGEOUT is 21.
const PERL = [
  'my ($pid, @iov) = @ARGV;',
  'my $fd = syscall(434, $pid + 0, 0);',
  'exit 2 if $fd < 0;',
  'my $n = syscall(440, $fd, pack("Q*", @iov), @iov / 2, 21, 0);',
  'print $n < 0 ? "error $!\\n" : "$n\\n";',
  'exit($n < 0 ? 1 : 0);',
].join(' ')

export interface PageOutResult {
  /** bytes the kernel was asked to page out */
  asked: number
  /** what the kernel answered: bytes advised, or the error */
  answer: string
}

/**
 * The process that maps the compiler: bpftrace itself, or, when `--bpftrace` is a wrapper that
 * forks it (a script, a wrapper that measures it), the first such process below it (3 levels).
 */
export function compilerProcess(pid: number, depth = 3): {pid: number; ranges: Array<[number, number]>} | undefined {
  const ranges = compilerMappings(readText(`/proc/${pid}/maps`) ?? '')
  if (ranges.length > 0) return {pid, ranges}
  if (depth === 0) return undefined
  for (const child of childrenOf(pid)) {
    const found = compilerProcess(child, depth - 1)
    if (found) return found
  }
  return undefined
}

/** Pages out bpftrace's compiler libraries; resolves undefined when there is nothing to do or it cannot be done. */
export function pageOutCompiler(bpftracePid: number, perl = 'perl'): Promise<PageOutResult | undefined> {
  const {pid, ranges} = compilerProcess(bpftracePid) ?? {pid: bpftracePid, ranges: []}
  if (ranges.length === 0 || ranges.length > 1024) return Promise.resolve(undefined)
  const args = ['-e', PERL, String(pid), ...ranges.flatMap(([from, len]) => [String(from), String(len)])]
  const asked = ranges.reduce((s, [, len]) => s + len, 0)
  return new Promise((resolve) => {
    execFile(perl, args, {timeout: 5000}, (err, stdout) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') resolve(undefined)
      else resolve({asked, answer: stdout.trim() || String(err?.message ?? '')})
    })
  })
}
