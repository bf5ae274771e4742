// Reading what container runtimes print as JSON (crictl, podman): shapes are never trusted, so each
// helper gives null for anything unexpected instead of throwing.

export type Obj = Record<string, unknown>

/** A JSON object (not null, not an array), else null. */
export function obj(v: unknown): Obj | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null
}

/** A non-empty string, else null. */
export function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null
}

/** A PID as runtimes print it: a positive whole number, else null (0 means none). */
export function positivePid(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null
}

/** The parsed value of JSON text (null when it does not parse); anything else as it is. */
export function fromText(json: unknown): unknown {
  if (typeof json !== 'string') return json
  try {
    return JSON.parse(json) as unknown
  } catch {
    return null
  }
}
