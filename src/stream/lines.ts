// Bytes → lines. Carries a partial line across chunks, decodes UTF-8 across chunk borders,
// strips CR of CRLF, and bounds line length: an over-long line becomes one counted record
// instead of unbounded memory. Never throws on input.
import {StringDecoder} from 'node:string_decoder'

export type LineItem =
  | {kind: 'line'; text: string}
  | {kind: 'overlong'; chars: number; head: string}

export const DEFAULT_MAX_LINE = 1 << 20

export class LineSplitter {
  private decoder = new StringDecoder('utf8')
  private carry = ''
  private skipping = 0 // > 0: inside an over-long line, counts its characters
  private skipHead = ''

  constructor(private readonly maxLine = DEFAULT_MAX_LINE) {}

  push(chunk: Buffer | string): LineItem[] {
    return this.split(typeof chunk === 'string' ? chunk : this.decoder.write(chunk))
  }

  /** End of input: the last line even without a final newline. */
  end(): LineItem[] {
    const out = this.split(this.decoder.end())
    if (this.skipping > 0) {
      out.push({kind: 'overlong', chars: this.skipping, head: this.skipHead})
      this.skipping = 0
    } else if (this.carry.length > 0) {
      out.push({kind: 'line', text: stripCr(this.carry)})
    }
    this.carry = ''
    return out
  }

  private split(text: string): LineItem[] {
    const out: LineItem[] = []
    let start = 0
    for (;;) {
      const nl = text.indexOf('\n', start)
      if (nl === -1) break
      const piece = text.slice(start, nl)
      start = nl + 1
      if (this.skipping > 0) {
        out.push({kind: 'overlong', chars: this.skipping + piece.length, head: this.skipHead})
        this.skipping = 0
        continue
      }
      const line = this.carry.length > 0 ? this.carry + piece : piece
      this.carry = ''
      if (line.length > this.maxLine) out.push({kind: 'overlong', chars: line.length, head: line.slice(0, 80)})
      else out.push({kind: 'line', text: stripCr(line)})
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
    return out
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line
}
