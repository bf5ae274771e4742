// A client of a container runtime's CRI socket (runtime.v1.RuntimeService, gRPC over a unix
// socket): where the socket is, and each call async with a short deadline, so a slow or dead
// runtime never holds up the event loop or the bpftrace pipe.
import {statSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import type * as Grpc from '@grpc/grpc-js'
import type {PackageDefinition} from '@grpc/proto-loader'
import {EnvironmentError, UsageError} from '../errors.js'

// Resolves to proto/ at the package root from both src/sandbox (tsx) and dist/sandbox (built).
export const CRI_PROTO = fileURLToPath(new URL('../../proto/cri-runtime-v1.proto', import.meta.url))
const SERVICE = 'runtime.v1.RuntimeService'

/** Where each runtime puts its CRI socket on a node, asked in this order. */
export const STANDARD_CRI_SOCKETS = [
  {path: '/run/containerd/containerd.sock', runtime: 'containerd'},
  {path: '/var/run/crio/crio.sock', runtime: 'cri-o'},
  {path: '/var/run/cri-dockerd.sock', runtime: 'cri-dockerd'},
] as const

export const CRI_SOCKET_ENV = 'PAUSETRACE_CRI_SOCKET'
export const CRI_DEADLINE_MS = 2000

export interface CriEndpoint {
  path: string
  /** who named it: the flag, the environment variable, or a standard path that exists */
  source: 'flag' | 'env' | 'standard'
}

export type CriMethod =
  | 'Version' | 'RunPodSandbox' | 'StopPodSandbox' | 'RemovePodSandbox' | 'PodSandboxStatus' | 'ListPodSandbox'
  | 'CreateContainer' | 'StartContainer' | 'StopContainer' | 'RemoveContainer' | 'ListContainers' | 'ContainerStatus'

function isSocket(p: string): boolean {
  try {
    return statSync(p).isSocket()
  } catch {
    return false
  }
}

/** crictl's spelling (`unix:///run/…`) is accepted too. */
function socketPath(text: string): string {
  return text.trim().replace(/^unix:\/\//, '')
}

/**
 * The sockets to ask, best first: the flag's or the environment's alone when given (a wrong one
 * is an error that names the fix: a flag's a usage error, the environment's an environment one),
 * else every standard path where a socket exists.
 */
export function criEndpoints(opts: {flag?: string; env?: string; isSocket?: (p: string) => boolean} = {}): CriEndpoint[] {
  const check = opts.isSocket ?? isSocket
  const given = opts.flag !== undefined ? {text: opts.flag, source: 'flag' as const} : opts.env ? {text: opts.env, source: 'env' as const} : undefined
  if (given) {
    const p = socketPath(given.text)
    if (p.startsWith('/') && check(p)) return [{path: p, source: given.source}]
    const what = given.source === 'flag' ? `--cri-socket ${JSON.stringify(given.text)}` : `${CRI_SOCKET_ENV}=${JSON.stringify(given.text)}`
    const fix = `give the runtime's CRI socket as an absolute path (containerd: ${STANDARD_CRI_SOCKETS[0].path}, CRI-O: ${STANDARD_CRI_SOCKETS[1].path}, cri-dockerd: ${STANDARD_CRI_SOCKETS[2].path})`
    const msg = `${what} is not a unix socket; ${given.source === 'env' ? `unset it or ${fix}` : fix}.`
    throw given.source === 'flag' ? new UsageError(msg) : new EnvironmentError(msg, 'CRI_SOCKET')
  }
  return STANDARD_CRI_SOCKETS.filter((s) => check(s.path)).map((s) => ({path: s.path, source: 'standard' as const}))
}

/** A failed call, with the gRPC status code name when there was one ("UNAVAILABLE", …). */
export class CriCallError extends Error {
  constructor(readonly method: CriMethod, readonly code: string, readonly details: string) {
    super(`${method}: ${code}${details ? ` (${details})` : ''}`)
    this.name = 'CriCallError'
  }
}

/** One line on why a socket did not answer, in words a person can act on. */
export function explainCriError(err: unknown, deadlineMs = CRI_DEADLINE_MS): string {
  if (!(err instanceof CriCallError)) return (err as Error)?.message ?? String(err)
  switch (err.code) {
    case 'UNAVAILABLE':
      return /EACCES|permission denied/i.test(err.details)
        ? 'permission denied: run pausetrace as root'
        : `not answering (${err.details || 'connection failed'}): is the runtime running?`
    case 'UNIMPLEMENTED':
      return 'answers, but not with the CRI v1 RuntimeService (a containerd whose CRI plugin is disabled, as Docker ships it, or a runtime older than Kubernetes 1.23)'
    case 'DEADLINE_EXCEEDED':
      return `no answer within ${deadlineMs / 1000} s (a busy or hung runtime)`
    default:
      return `${err.code}${err.details ? `: ${err.details}` : ''}`
  }
}

let loaded: Promise<{grpc: typeof Grpc; def: PackageDefinition}> | undefined

/** gRPC and the .proto are loaded on first use only: most commands never talk to a runtime. */
export function loadCri(): Promise<{grpc: typeof Grpc; def: PackageDefinition}> {
  loaded ??= (async () => {
    const [grpc, protoLoader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')])
    // int64 as decimal strings (nanosecond times do not fit a double); enums by name; absent
    // fields as their defaults, so a parser meets "" and 0 rather than undefined.
    const def = await protoLoader.load(CRI_PROTO, {keepCase: false, longs: String, enums: String, defaults: true, oneofs: true})
    return {grpc, def}
  })()
  return loaded
}

function methodDef(def: PackageDefinition, method: CriMethod): Grpc.MethodDefinition<unknown, unknown> {
  const svc = def[SERVICE] as Grpc.ServiceDefinition | undefined
  const m = svc?.[method]
  if (!m) throw new Error(`${CRI_PROTO} lacks ${SERVICE}/${method}`)
  return m as Grpc.MethodDefinition<unknown, unknown>
}

/** Decodes a recorded answer (raw protobuf bytes) as the client would: for fixtures and tests. */
export async function decodeCriResponse(method: CriMethod, bytes: Buffer): Promise<unknown> {
  const {def} = await loadCri()
  return methodDef(def, method).responseDeserialize(bytes)
}

export interface CriCaller {
  call(method: CriMethod, request: object, deadlineMs?: number): Promise<unknown>
}

/** A connection to one CRI socket. Close it when done, or the channel keeps reconnecting. */
export class CriClient implements CriCaller {
  private constructor(
    readonly endpoint: CriEndpoint,
    private readonly grpc: typeof Grpc,
    private readonly def: PackageDefinition,
    private readonly client: Grpc.Client,
    readonly deadlineMs: number,
  ) {}

  static async open(endpoint: CriEndpoint, opts: {deadlineMs?: number} = {}): Promise<CriClient> {
    const {grpc, def} = await loadCri()
    const client = new grpc.Client(`unix://${endpoint.path}`, grpc.credentials.createInsecure(), {
      // verbose status answers carry the whole OCI spec
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      // a runtime that is down is reported at once, not retried until the deadline
      'grpc.enable_retries': 0,
      'grpc.initial_reconnect_backoff_ms': 100,
    })
    return new CriClient(endpoint, grpc, def, client, opts.deadlineMs ?? CRI_DEADLINE_MS)
  }

  call(method: CriMethod, request: object, deadlineMs = this.deadlineMs): Promise<unknown> {
    const m = methodDef(this.def, method)
    return this.unary(method, m.requestSerialize, m.responseDeserialize, request, deadlineMs)
  }

  /** The answer's raw protobuf bytes (recording fixtures). */
  callRaw(method: CriMethod, request: object, deadlineMs = this.deadlineMs): Promise<Buffer> {
    const m = methodDef(this.def, method)
    return this.unary(method, m.requestSerialize, (b: Buffer) => b, request, deadlineMs) as Promise<Buffer>
  }

  private unary<T>(method: CriMethod, serialize: (v: unknown) => Buffer, deserialize: (b: Buffer) => T, request: object, deadlineMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(`/${SERVICE}/${method}`, serialize, deserialize, request, {deadline: Date.now() + deadlineMs}, (err, value) => {
        if (err) reject(new CriCallError(method, this.grpc.status[err.code] ?? String(err.code), err.details ?? ''))
        else resolve(value as T)
      })
    })
  }

  close(): void {
    this.client.close()
  }
}
