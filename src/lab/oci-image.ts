// Writes a one-layer OCI image archive from a directory, so a CRI runtime can import the lab's
// images (its pause, its busybox) without a registry or a build tool: the OCI layout (oci-layout,
// index.json, blobs/sha256/…: a layer tar, a config, a manifest) packed with tar.
import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {runStep} from './exec.js'
import {findOnPath} from '../util/which.js'
import {EnvironmentError} from '../errors.js'

export interface OciImageSpec {
  /** the image's root filesystem */
  rootfs: string
  /** where to write the archive */
  out: string
  /** the tag the archive names (`ctr images import --base-name NAME` makes NAME:TAG of it) */
  tag: string
  entrypoint: string[]
  signal?: AbortSignal
}

// Same bytes for the same tree: names sorted, owners and times fixed.
const TAR_FIXED = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--format=gnu']

function blob(dir: string, bytes: Buffer): {digest: string; size: number} {
  const hex = createHash('sha256').update(bytes).digest('hex')
  writeFileSync(path.join(dir, 'blobs/sha256', hex), bytes)
  return {digest: `sha256:${hex}`, size: bytes.length}
}

function goArch(): string {
  return ({x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64'} as Record<string, string>)[process.arch] ?? process.arch
}

/** Writes `spec.out`; returns the manifest's digest. */
export async function writeOciArchive(spec: OciImageSpec): Promise<string> {
  const tar = findOnPath('tar')
  if (!tar) throw new EnvironmentError('tar is not installed, and the CRI lab packs its images with it; install it with: sudo apt-get install -y tar', 'LAB_TOOL_MISSING')
  const layout = `${spec.out}.layout`
  rmSync(layout, {recursive: true, force: true})
  mkdirSync(path.join(layout, 'blobs/sha256'), {recursive: true})
  try {
    const layerFile = path.join(layout, 'layer.tar')
    await runStep(tar, [...TAR_FIXED, '-C', spec.rootfs, '-cf', layerFile, '.'], {signal: spec.signal})
    // an uncompressed layer: its digest is also its diff id
    const layer = blob(layout, readFileSync(layerFile))
    rmSync(layerFile)
    const config = blob(layout, Buffer.from(JSON.stringify({
      architecture: goArch(), os: 'linux',
      config: {Entrypoint: spec.entrypoint, WorkingDir: '/'},
      rootfs: {type: 'layers', diff_ids: [layer.digest]},
    })))
    const manifest = blob(layout, Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...config},
      layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer}],
    })))
    writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
    writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: {'org.opencontainers.image.ref.name': spec.tag}}],
    }))
    await runStep(tar, [...TAR_FIXED, '-C', layout, '-cf', spec.out, 'oci-layout', 'index.json', 'blobs'], {signal: spec.signal})
    return manifest.digest
  } finally {
    rmSync(layout, {recursive: true, force: true})
  }
}
