// How a person is told which pod a sandbox is: `namespace/name` (a podman pod: its name), its
// attempt and the sandbox it replaced; the sandbox id only when no pod is known.
import type {SandboxRecord} from '../events/types.js'

type Named = Pick<SandboxRecord, 'id' | 'pod'> & Partial<Pick<SandboxRecord, 'replaces'>>

/** `shop/web-0`, `web` (a pod with no namespace: podman's), or the id when no pod is known. */
export function podLabel(r: Named): string {
  if (!r.pod) return r.id
  return r.pod.namespace ? `${r.pod.namespace}/${r.pod.name}` : r.pod.name
}

/**
 * What a re-created sandbox is: ` (attempt 1, replaces netns:…)`; ` (attempt 1)` when the one it
 * replaced was never seen; empty for a first attempt or a pod without attempts.
 */
export function attemptText(r: Named): string {
  const attempt = r.pod?.attempt
  const parts: string[] = []
  if (attempt !== undefined && attempt !== null && (attempt > 0 || r.replaces)) parts.push(`attempt ${attempt}`)
  if (r.replaces) parts.push(`replaces ${r.replaces}`)
  return parts.length ? ` (${parts.join(', ')})` : ''
}

/**
 * The names of the sandboxes seen so far in a stream of records, for the text lines, which are
 * drawn one record at a time: fed every `sandbox` record, asked for an id's label.
 */
export class SandboxNames {
  private readonly labels = new Map<string, string>()

  feed(r: SandboxRecord): void {
    // A record that knows less (a pod not named yet) never takes back a name already given.
    if (r.pod || !this.labels.has(r.id)) this.labels.set(r.id, podLabel(r))
  }

  /** The label of a sandbox id: its pod's when one was named, else the id itself. */
  readonly label = (id: string): string => this.labels.get(id) ?? id
}
