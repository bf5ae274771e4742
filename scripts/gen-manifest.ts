// Writes oclif.manifest.json (what `oclif manifest` does, without the `oclif` dev CLI): the
// command list with flags, args and examples, so the installed CLI, its help and shell completion
// start without importing every command. Built from dist/commands: run `npm run build` first
// (prepack does both, and postpack removes the file so a stale manifest never outlives a pack).
// Usage: npx tsx scripts/gen-manifest.ts
import {Plugin} from '@oclif/core'
import {readdirSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import path from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
// oclif maps ./dist to ./src when NODE_ENV is development or test; the manifest must describe
// the JavaScript that ships.
process.env.NODE_ENV = 'production'

const plugin = new Plugin({root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true})
await plugin.load()
const manifest = plugin.manifest

// A command that failed to import would silently be missing from the manifest: refuse instead.
const built = readdirSync(path.join(root, 'dist/commands'), {recursive: true, encoding: 'utf8'})
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3).replace(/(^|\/)index$/, '').split(path.sep).join(':'))
  .sort()
const listed = Object.keys(manifest.commands).sort()
if (built.join(',') !== listed.join(',')) {
  console.error(`gen-manifest: dist/commands has ${built.join(', ')} but the manifest lists ${listed.join(', ')}`)
  process.exit(1)
}
const file = path.join(root, 'oclif.manifest.json')
writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`)
console.error(`gen-manifest: ${listed.length} commands (${listed.join(', ')}) → ${path.relative(process.cwd(), file) || file}`)
