/**
 * Cuts a SIP byte stream (TCP) into messages by Content-Length (RFC 3261 §18.3), and skips the CRLF
 * keep-alives of RFC 5626 between them.
 */

/** A header section longer than this, with no blank line, is not SIP. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** A body longer than this is refused; SDP is a few kB. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The stream cannot be cut into messages any more; the connection must be dropped. */
export class FramingError extends Error {
  override name = 'FramingError';
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(.*)$/im;

export class SipStreamFramer {
  private buffer: Buffer = Buffer.alloc(0);

  /** Adds bytes from the stream; returns every message now complete, in order. */
  push(chunk: Buffer): string[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const messages: string[] = [];
    for (;;) {
      this.skipKeepAlives();
      if (this.buffer.length === 0) break;
      const headerEnd = this.buffer.indexOf(HEADER_END);
      if (headerEnd === -1) {
        if (this.buffer.length > MAX_HEADER_BYTES) {
          throw new FramingError(`no end of headers within ${MAX_HEADER_BYTES} bytes`);
        }
        break;
      }
      const head = this.buffer.toString('utf8', 0, headerEnd);
      const bodyLength = contentLength(head);
      const total = headerEnd + HEADER_END.length + bodyLength;
      if (this.buffer.length < total) break;
      messages.push(this.buffer.toString('utf8', 0, total));
      this.buffer = this.buffer.subarray(total);
    }
    return messages;
  }

  private skipKeepAlives(): void {
    let start = 0;
    while (start < this.buffer.length && (this.buffer[start] === 0x0d || this.buffer[start] === 0x0a)) start += 1;
    if (start > 0) this.buffer = this.buffer.subarray(start);
  }
}

/**
 * The body length a message declares. A missing header counts as 0, so that a stray line of text
 * ends up as one unparseable message (logged and dropped) instead of ending the connection.
 */
function contentLength(head: string): number {
  const match = CONTENT_LENGTH.exec(head);
  if (!match) return 0;
  const text = (match[1] ?? '').trim();
  if (!/^\d+$/.test(text)) throw new FramingError(`Content-Length "${text}" is not a number`);
  const length = Number(text);
  if (length > MAX_BODY_BYTES) throw new FramingError(`Content-Length ${length} is larger than ${MAX_BODY_BYTES}`);
  return length;
}
