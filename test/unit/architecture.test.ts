// The shape of src/: no import cycle between files or between folders (a folder that imports
// the folder that imports it is how a codebase stops being easy to change), and no file over
// 400 lines without a reason written at its top (a `// Size:` line in its header comment).
import assert from 'node:assert/strict'
import {readFileSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))
const MAX_LINES = 400

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name)
    if (statSync(p).isDirectory()) return sourceFiles(p)
    return /\.tsx?$/.test(name) ? [p] : []
  })
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g

/** Relative imports of each file, resolved to files; `typeOnly` edges are `import type`. */
function importGraph(files: string[]): Map<string, Array<{to: string; typeOnly: boolean}>> {
  const known = new Set(files)
  const graph = new Map<string, Array<{to: string; typeOnly: boolean}>>()
  for (const f of files) {
    const edges: Array<{to: string; typeOnly: boolean}> = []
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
      const spec = m[2] ?? m[3]
      const base = path.resolve(path.dirname(f), spec)
      const to = [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base, `${base}.ts`, path.join(base, 'index.ts')].find((c) => known.has(c))
      if (to) edges.push({to, typeOnly: m[1] !== undefined})
    }
    graph.set(f, edges)
  }
  return graph
}

/** Strongly connected components with more than one member (Tarjan). */
function cycles(nodes: string[], next: (n: string) => string[]): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const visit = (v: string): void => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number))
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = []
      let w: string
      do {
        w = stack.pop() as string
        onStack.delete(w)
        c.push(w)
      } while (w !== v)
      if (c.length > 1) out.push(c.sort())
    }
  }
  for (const n of nodes) if (!index.has(n)) visit(n)
  return out
}

const rel = (f: string): string => path.relative(SRC, f)
/** The folder of a file under src/ (a file directly in src/ is a folder of its own). */
const folderOf = (f: string): string => rel(f).split(path.sep)[0]

describe('architecture of src/', () => {
  const files = sourceFiles(SRC)
  const graph = importGraph(files)

  it('has no import cycle between files (type-only imports included)', () => {
    assert.deepEqual(cycles(files, (f) => (graph.get(f) ?? []).map((e) => e.to)).map((c) => c.map(rel)), [])
  })

  it('has no import cycle between folders', () => {
    const folders = [...new Set(files.map(folderOf))]
    const next = new Map<string, Set<string>>()
    for (const [f, edges] of graph) for (const e of edges) if (folderOf(f) !== folderOf(e.to)) (next.get(folderOf(f)) ?? next.set(folderOf(f), new Set()).get(folderOf(f)))?.add(folderOf(e.to))
    const found = cycles(folders, (d) => [...(next.get(d) ?? [])])
    // name the imports that close each cycle, so the message says where to cut
    const why = found.map((c) => [...graph].flatMap(([f, edges]) => edges.filter((e) => c.includes(folderOf(f)) && c.includes(folderOf(e.to)) && folderOf(f) !== folderOf(e.to)).map((e) => `${rel(f)} -> ${rel(e.to)}`)))
    assert.deepEqual(why, [])
  })

  it(`has no file over ${MAX_LINES} lines without a reason at its top (a "// Size:" line)`, () => {
    const long = files.filter((f) => {
      const text = readFileSync(f, 'utf8')
      const lines = text.split('\n').length
      const header = text.split('\n').slice(0, 12).join('\n')
      return lines > MAX_LINES && !/^\/\/ Size: /m.test(header)
    })
    assert.deepEqual(long.map(rel), [])
  })
})
