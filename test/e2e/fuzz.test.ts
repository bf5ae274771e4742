import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {gzipSync} from 'node:zlib'
import {CLI} from '../helpers/e2e.js'
import {fixturePath} from '../helpers/fixtures.js'
import {Timeline} from '../../src/model/timeline.js'
import {readTrace, type ReadProblems} from '../../src/replay/reader.js'
import {PausetraceError} from '../../src/errors.js'

/** A small deterministic generator, so a failure names the seed that reproduces it. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0
    return s / 2 ** 32
  }
}

function mutate(text: Buffer, seed: number): Buffer {
  const r = rng(seed)
  const b = Buffer.from(text)
  switch (seed % 6) {
    case 0: // flip bytes
      for (let i = 0; i < 1 + Math.floor(r() * 20); i++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8)
      return b
    case 1: // cut anywhere
      return b.subarray(0, Math.floor(r() * b.length))
    case 2: { // shuffle some lines
      const lines = b.toString('utf8').split('\n')
      for (let i = 0; i < 10; i++) {
        const a = Math.floor(r() * lines.length)
        const c = Math.floor(r() * lines.length)
        ;[lines[a], lines[c]] = [lines[c], lines[a]]
      }
      return Buffer.from(lines.join('\n'))
    }
    case 3: { // change values to other types
      const s = b.toString('utf8').replace(/:(\d+)/g, (m, d: string) => (r() < 0.05 ? [':null', ':"x"', ':-1', ':1e308', ':[]', ':{}'][Math.floor(r() * 6)] : m))
      return Buffer.from(s)
    }
    case 4: // duplicate and drop lines
      return Buffer.from(b.toString('utf8').split('\n').flatMap((l) => (r() < 0.1 ? [] : r() < 0.1 ? [l, l] : [l])).join('\n'))
    default: // junk inserted in the middle
      return Buffer.concat([b.subarray(0, b.length >> 1), Buffer.from(Array.from({length: 300}, () => Math.floor(r() * 256))), b.subarray(b.length >> 1)])
  }
}

function run(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], {timeout: 30_000, maxBuffer: 64 << 20}, (err, stdout, stderr) => {
      resolve({code: err ? (typeof err.code === 'number' ? err.code : 124) : 0, stdout, stderr})
    })
  })
}

describe('fuzz: mutated trace files', function () {
  this.timeout(180_000)
  const sources = readdirSync(fixturePath('traces')).filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(fixturePath(`traces/${f}`)))
  let dir: string
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-fuzz-'))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('reading and the timeline never throw anything but a clear error, on 600 mutations', async () => {
    let refused = 0
    for (let seed = 1; seed <= 600; seed++) {
      const file = path.join(dir, `m${seed}.jsonl`)
      writeFileSync(file, mutate(sources[seed % sources.length], seed))
      const problems: ReadProblems = {badLines: 0, noFooter: false, cutLastLine: false}
      const timeline = new Timeline()
      try {
        for await (const rec of readTrace(file, problems)) timeline.feed(rec)
      } catch (err) {
        assert.ok(err instanceof PausetraceError, `seed ${seed}: ${(err as Error).stack}`)
        assert.ok([2, 3].includes(err.exitCode), `seed ${seed}: exit ${err.exitCode}`)
        refused++
      }
    }
    assert.ok(refused > 0 && refused < 600, `some refused (${refused}), most replayed`)
  })

  it('the CLI answers every mutation with exit 0, 2 or 3 and at most one stderr line, never a stack trace', async () => {
    for (let seed = 1000; seed < 1040; seed++) {
      const gz = seed % 4 === 0
      const file = path.join(dir, `c${seed}.jsonl${gz ? '.gz' : ''}`)
      const body = mutate(sources[seed % sources.length], seed)
      writeFileSync(file, gz ? gzipSync(body).subarray(0, seed % 8 === 0 ? 200 : undefined) : body)
      for (const args of [['replay', file, '--json'], ['export', file, '--format', 'csv', '-o', '-']]) {
        const r = await run(args)
        assert.ok([0, 2, 3].includes(r.code), `seed ${seed} ${args[0]}: exit ${r.code}: ${r.stderr}`)
        const lines = r.stderr.split('\n').filter((l) => l)
        assert.ok(lines.length <= 1, `seed ${seed} ${args[0]}: ${r.stderr}`)
        assert.doesNotMatch(r.stderr, /\n\s+at |Error:/, `seed ${seed}: a stack trace`)
        if (lines.length) assert.match(lines[0], /^pausetrace: /)
      }
    }
  })
})
