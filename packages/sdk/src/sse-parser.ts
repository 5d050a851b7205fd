/**
 * A Server-Sent Events parser (the WHATWG "event stream interpretation"):
 * lines end with CRLF, LF or CR; `event`, `data` (several lines joined with
 * LF), `id` and `retry` fields; lines starting with `:` are comments; an
 * event is dispatched at a blank line. Text is fed in chunks of any size.
 */

/** One dispatched event. `id` is the last event id seen on the stream so far. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export interface SseHandlers {
  event(event: SseEvent): void;
  /** A comment line (`: heartbeat`), without the colon and one leading space. */
  comment?(text: string): void;
  /** A valid `retry:` field, in milliseconds. */
  retry?(ms: number): void;
}

export class SseParser {
  private buffer = '';
  /** The previous chunk ended with CR: a LF at the start of the next one belongs to it. */
  private pendingCr = false;
  private eventType = '';
  private data: string[] = [];
  private hasData = false;
  private lastEventId: string | undefined;

  constructor(private readonly handlers: SseHandlers) {}

  /** Feeds decoded text (use a UTF-8 decoder that keeps split characters across chunks). */
  push(chunk: string): void {
    let text = chunk;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (text.startsWith('\n')) text = text.slice(1);
    }
    this.buffer += text;
    let start = 0;
    const buf = this.buffer;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(buf.slice(start, i));
      if (c === 13) {
        if (i + 1 < buf.length) {
          if (buf.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer = buf.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      this.handlers.comment?.(line.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.handlers.retry?.(Number(value));
        break;
      default:
        break;
    }
  }

  private dispatch(): void {
    const type = this.eventType;
    const hasData = this.hasData;
    const data = this.data.join('\n');
    this.eventType = '';
    this.data = [];
    this.hasData = false;
    if (!hasData) return;
    this.handlers.event({ event: type === '' ? 'message' : type, data, id: this.lastEventId });
  }
}
