// Number → name tables of the Linux x86_64/arm64 ABI as glibc names them: signals, errno,
// si_code and wait options. Pure data and small lookups.

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE',
  9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
  16: 'SIGSTKFLT', 17: 'SIGCHLD', 18: 'SIGCONT', 19: 'SIGSTOP', 20: 'SIGTSTP', 21: 'SIGTTIN', 22: 'SIGTTOU',
  23: 'SIGURG', 24: 'SIGXCPU', 25: 'SIGXFSZ', 26: 'SIGVTALRM', 27: 'SIGPROF', 28: 'SIGWINCH', 29: 'SIGIO',
  30: 'SIGPWR', 31: 'SIGSYS',
}

/** glibc reserves 32 and 33 for itself, so its SIGRTMIN is 34. */
export const SIGRTMIN = 34
export const SIGRTMAX = 64

export function signalName(sig: number): string {
  if (sig === 0) return '0'
  const n = SIGNALS[sig]
  if (n) return n
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig === SIGRTMIN ? 'SIGRTMIN' : `SIGRTMIN+${sig - SIGRTMIN}`
  return `SIG${sig}`
}

/** "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3", "SIGRTMIN+3" → number; undefined if unknown. */
export function parseSignal(text: string): number | undefined {
  const s = text.trim().toUpperCase()
  if (/^\d+$/.test(s)) {
    const n = Number(s)
    return n >= 0 && n <= SIGRTMAX ? n : undefined
  }
  const name = s.startsWith('SIG') ? s : `SIG${s}`
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name)
  if (rt) {
    const n = SIGRTMIN + Number(rt[1] ?? 0)
    return n <= SIGRTMAX ? n : undefined
  }
  const rtmax = /^SIGRTMAX(?:-(\d+))?$/.exec(name)
  if (rtmax) {
    const n = SIGRTMAX - Number(rtmax[1] ?? 0)
    return n >= SIGRTMIN ? n : undefined
  }
  if (name === 'SIGIOT') return 6
  if (name === 'SIGPOLL') return 29
  if (name === 'SIGCLD') return 17
  for (const [k, v] of Object.entries(SIGNALS)) if (v === name) return Number(k)
  return undefined
}

const ERRNO: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 6: 'ENXIO', 7: 'E2BIG', 8: 'ENOEXEC', 9: 'EBADF',
  10: 'ECHILD', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV',
  20: 'ENOTDIR', 21: 'EISDIR', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 25: 'ENOTTY', 27: 'EFBIG', 28: 'ENOSPC',
  29: 'ESPIPE', 30: 'EROFS', 32: 'EPIPE', 34: 'ERANGE', 35: 'EDEADLK', 36: 'ENAMETOOLONG', 38: 'ENOSYS',
  95: 'EOPNOTSUPP', 110: 'ETIMEDOUT', 512: 'ERESTARTSYS', 513: 'ERESTARTNOINTR', 514: 'ERESTARTNOHAND', 516: 'ERESTART_RESTARTBLOCK',
}

export function errnoName(errno: number): string {
  return ERRNO[errno] ?? `E${errno}`
}

const SI_CODES: Record<number, string> = {
  0: 'SI_USER', 128: 'SI_KERNEL', [-1]: 'SI_QUEUE', [-2]: 'SI_TIMER', [-3]: 'SI_MESGQ', [-4]: 'SI_ASYNCIO',
  [-5]: 'SI_SIGIO', [-6]: 'SI_TKILL',
}
const CLD_CODES: Record<number, string> = {
  1: 'CLD_EXITED', 2: 'CLD_KILLED', 3: 'CLD_DUMPED', 4: 'CLD_TRAPPED', 5: 'CLD_STOPPED', 6: 'CLD_CONTINUED',
}

export function siCodeName(sig: number, code: number): string {
  if (code > 0 && code < 128 && sig === 17) return CLD_CODES[code] ?? `CLD_${code}`
  return SI_CODES[code] ?? `SI_${code}`
}

// Wait options. waitid's WSTOPPED is the same bit as wait4's WUNTRACED; the kernel's
// __WNOTHREAD/__WALL/__WCLONE are written without their underscores.
const WAIT_OPTIONS: Array<[number, string, string]> = [
  [0x1, 'WNOHANG', 'WNOHANG'],
  [0x2, 'WUNTRACED', 'WSTOPPED'],
  [0x4, 'WEXITED', 'WEXITED'],
  [0x8, 'WCONTINUED', 'WCONTINUED'],
  [0x0100_0000, 'WNOWAIT', 'WNOWAIT'],
  [0x2000_0000, 'WNOTHREAD', 'WNOTHREAD'],
  [0x4000_0000, 'WALL', 'WALL'],
  [0x8000_0000, 'WCLONE', 'WCLONE'],
]

export function waitOptionNames(options: number, syscall: 'wait4' | 'waitid'): string[] {
  const out: string[] = []
  const u = options >>> 0
  for (const [bit, w4, wid] of WAIT_OPTIONS) if (u & bit) out.push(syscall === 'wait4' ? w4 : wid)
  return out
}

export const SIGNAL_RESULTS = ['delivered', 'ignored', 'pending', 'overflow', 'lose_info'] as const
