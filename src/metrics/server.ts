// `--metrics ADDR`: the Prometheus text format at http://ADDR/metrics while a trace runs. A port
// alone binds the loopback address (a root tool opens no port to the network unless asked); an
// address that cannot be used is one sentence and exit 2 (malformed) or 3 (in use, not here).
import type {Server} from 'node:http'
import {isIP} from 'node:net'
import {EnvironmentError, UsageError} from '../errors.js'

export interface MetricsAddress {
  host: string
  port: number
}

export const DEFAULT_METRICS_PORT = 9479

/** `9479`, `127.0.0.1:9479`, `0.0.0.0:9479`, `[::1]:9479`, `localhost:9479`. */
export function parseMetricsAddress(text: string): MetricsAddress {
  const bad = (why: string): UsageError => new UsageError(`--metrics ${JSON.stringify(text)} is not an address to listen on: ${why}; use e.g. ${DEFAULT_METRICS_PORT} (127.0.0.1:${DEFAULT_METRICS_PORT}) or 0.0.0.0:${DEFAULT_METRICS_PORT} for every interface.`)
  const t = text.trim()
  let host = '127.0.0.1'
  let port = t
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t)
  if (v6) {
    host = v6[1]
    port = v6[2]
    if (isIP(host) !== 6) throw bad(`${host} is not an IPv6 address`)
  } else if (t.includes(':')) {
    const i = t.lastIndexOf(':')
    host = t.slice(0, i)
    port = t.slice(i + 1)
    const dotted = /^[\d.]+$/.test(host)
    if (host === '' || (dotted ? isIP(host) !== 4 : !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(host))) throw bad(`"${host}" is not a host`)
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw bad(`"${port}" is not a port (1–65535)`)
  return {host, port: Number(port)}
}

export interface MetricsSource {
  text(): Promise<string>
  contentType: string
}

/** Listens (resolves once listening, or throws the one-sentence error) and serves `/metrics`. */
export async function serveMetrics(addr: MetricsAddress, source: MetricsSource): Promise<{close(): Promise<void>; url: string}> {
  // node:http only when serving: every command's flags import this file (parseMetricsAddress)
  const {createServer} = await import('node:http')
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {Allow: 'GET, HEAD'}).end()
      return
    }
    const url = (req.url ?? '/').split('?')[0]
    if (url !== '/metrics') {
      res.writeHead(url === '/' ? 200 : 404, {'Content-Type': 'text/plain; charset=utf-8'}).end(url === '/' ? 'pausetrace: metrics at /metrics\n' : 'not found: metrics are at /metrics\n')
      return
    }
    source.text().then(
      (body) => res.writeHead(200, {'Content-Type': source.contentType}).end(req.method === 'HEAD' ? undefined : body),
      (err: Error) => res.writeHead(500, {'Content-Type': 'text/plain; charset=utf-8'}).end(`${err.message}\n`),
    )
  })
  // a scrape never keeps the trace from ending
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`
      const why = err.code === 'EADDRINUSE' ? 'the address is in use (another pausetrace, or another exporter?); choose another port'
        : err.code === 'EADDRNOTAVAIL' ? 'no interface of this machine has that address'
        : err.code === 'EACCES' ? 'permission denied'
        : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? 'the host name does not resolve'
        : err.message
      reject(new EnvironmentError(`cannot serve metrics on ${where}: ${why}.`, 'METRICS_LISTEN'))
    })
    server.listen(addr.port, addr.host, () => resolve())
  })
  server.unref()
  const a = server.address()
  const url = typeof a === 'object' && a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics` : ''
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
