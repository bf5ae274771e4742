// Reads the recorded bpftrace fixtures (test/fixtures/bpftrace, re-recorded by its record-fixtures.ts).
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import type {Manifest} from './workload.js'
import {Decoder, type DecodedRecord, type DecoderOptions} from '../../src/events/decoder.js'
import {parseBpftraceLine} from '../../src/stream/bpftrace-json.js'

export const VERSIONS = ['0.17.0', '0.23.2', '0.27.1'] as const

export function fixturePath(rel: string): string {
  return fileURLToPath(new URL(`../fixtures/${rel}`, import.meta.url))
}

export function workloadFixture(version: string): {stdout: Buffer; manifest: Manifest} {
  return {
    stdout: readFileSync(fixturePath(`bpftrace/${version}/workload.stdout`)),
    manifest: JSON.parse(readFileSync(fixturePath(`bpftrace/${version}/workload.manifest.json`), 'utf8')) as Manifest,
  }
}

export function decodeText(text: string, opts: DecoderOptions = {}): {records: DecodedRecord[]; decoder: Decoder} {
  const decoder = new Decoder(opts)
  const records: DecodedRecord[] = []
  for (const line of text.split('\n')) {
    const r = parseBpftraceLine(line)
    if (r) records.push(...decoder.push(r))
  }
  records.push(...decoder.finish())
  return {records, decoder}
}
