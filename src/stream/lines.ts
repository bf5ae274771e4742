// Bytes → lines. Carries a partial line across chunks, decodes UTF-8 across chunk borders,
// strips CR of CRLF, and bounds line length: an over-long line becomes one counted record
// instead of unbounded memory. Never throws on input.
import {StringDecoder} from 'node:string_decoder'

export type LineItem =
  | {kind: 'line'; text: string}
  | {kind: 'overlong'; chars: number; head: string}

export const DEFAULT_MAX_LINE = 1 << 20

/** Receives the lines of `feed`/`finish` as they are split: no item object per line. */
export interface LineSink {
  line(text: string): void
  overlong(chars: number, head: string): void
}

/** Collects items into an array (what `push`/`end` return). */
class ItemCollector implements LineSink {
  readonly items: LineItem[] = []
  line(text: string): void {
    this.items.push({kind: 'line', text})
  }

  overlong(chars: number, head: string): void {
    this.items.push({kind: 'overlong', chars, head})
  }
}

export class LineSplitter {
  private decoder = new StringDecoder('utf8')
  private carry = ''
  private skipping = 0 // > 0: inside an over-long line, counts its characters
  private skipHead = ''

  constructor(private readonly maxLine = DEFAULT_MAX_LINE) {}

  push(chunk: Buffer | string): LineItem[] {
    const c = new ItemCollector()
    this.feed(chunk, c)
    return c.items
  }

  /** End of input: the last line even without a final newline. */
  end(): LineItem[] {
    const c = new ItemCollector()
    this.finish(c)
    return c.items
  }

  /** Like push, handing each line to `sink` as it is found. */
  feed(chunk: Buffer | string, sink: LineSink): void {
    this.split(typeof chunk === 'string' ? chunk : this.decoder.write(chunk), sink)
  }

  /** Like end, handing the last lines to `sink`. */
  finish(sink: LineSink): void {
    this.split(this.decoder.end(), sink)
    if (this.skipping > 0) {
      sink.overlong(this.skipping, this.skipHead)
      this.skipping = 0
    } else if (this.carry.length > 0) {
      sink.line(stripCr(this.carry))
    }
    this.carry = ''
  }

  private split(text: string, sink: LineSink): void {
    let start = 0
    for (;;) {
      const nl = text.indexOf('\n', start)
      if (nl === -1) break
      const piece = text.slice(start, nl)
      start = nl + 1
      if (this.skipping > 0) {
        sink.overlong(this.skipping + piece.length, this.skipHead)
        this.skipping = 0
        continue
      }
      const line = this.carry.length > 0 ? this.carry + piece : piece
      this.carry = ''
      if (line.length > this.maxLine) sink.overlong(line.length, line.slice(0, 80))
      else sink.line(stripCr(line))
    }
    const rest = text.slice(start)
    if (this.skipping > 0) {
      this.skipping += rest.length
    } else {
      this.carry += rest
      if (this.carry.length > this.maxLine) {
        this.skipping = this.carry.length
        this.skipHead = this.carry.slice(0, 80)
        this.carry = ''
      }
    }
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line
}
