// What the CRI end-to-end tests share: the check that this machine can run a private containerd.
import {existsSync} from 'node:fs'
import path from 'node:path'
import type {Context} from 'mocha'
import {CI} from './e2e.js'
import {CNI_BIN_DIR} from '../../src/lab/containerd.js'

const INSTALL = 'sudo scripts/provision.sh --tests (it installs containerd and containernetworking-plugins)'

/** Skips (loudly) off CI when this machine cannot run a private containerd; fails under CI=true. */
export function requireContainerd(ctx: Context): void {
  const missing = [
    process.geteuid?.() !== 0 ? 'root' : '',
    ...['/usr/bin/containerd', '/usr/bin/ctr', '/usr/sbin/runc'].filter((p) => !existsSync(p)),
    ...['bridge', 'host-local'].map((p) => path.join(CNI_BIN_DIR, p)).filter((p) => !existsSync(p)),
  ].filter(Boolean)
  if (missing.length === 0) return
  if (CI) throw new Error(`the CRI end-to-end test cannot run under CI=true: missing ${missing.join(', ')}; ${INSTALL}`)
  console.warn(`    SKIPPED (missing ${missing.join(', ')}): the CRI end-to-end test needs root and a containerd; run ${INSTALL}`)
  ctx.skip()
}
