/**
 * Just enough SIP for tests that play a peer by hand (a browser over WebSocket, the sip app over
 * TCP, a hostile client over UDP): parse a message, build requests and responses.
 */
import { randomBytes } from 'node:crypto';

export interface SipMessage {
  /** "INVITE sip:x@y SIP/2.0" or "SIP/2.0 200 OK". */
  startLine: string;
  /** Requests only. */
  method?: string;
  uri?: string;
  /** Responses only. */
  status?: number;
  reason?: string;
  /** In order, names as sent. */
  headers: [string, string][];
  body: string;
  raw: string;
}

const COMPACT: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
};

function canonical(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? lower;
}

/** The first value of header `name` (compact forms understood), or undefined. */
export function header(message: SipMessage, name: string): string | undefined {
  const wanted = canonical(name);
  return message.headers.find(([n]) => canonical(n) === wanted)?.[1];
}

/** Every value of header `name`, in order. */
export function headers(message: SipMessage, name: string): string[] {
  const wanted = canonical(name);
  return message.headers.filter(([n]) => canonical(n) === wanted).map(([, v]) => v);
}

/** The CSeq's method and number. */
export function cseq(message: SipMessage): { number: number; method: string } {
  const [number = '0', method = ''] = (header(message, 'cseq') ?? '').trim().split(/\s+/);
  return { number: Number(number), method };
}

/** A parameter of a header value such as `<sip:a@b>;tag=x` (";tag"). */
export function param(value: string | undefined, name: string): string | undefined {
  if (!value) return undefined;
  const match = new RegExp(`;\\s*${name}=([^;,\\s>]+)`, 'i').exec(value.replace(/<[^>]*>/g, ''));
  return match?.[1];
}

/** The URI inside a name-addr (`"x" <sip:a@b;transport=ws>;expires=60` → `sip:a@b;transport=ws`). */
export function nameAddrUri(value: string): string {
  return /<([^>]*)>/.exec(value)?.[1] ?? value.split(';')[0]?.trim() ?? value;
}

export function parseSipMessage(raw: string): SipMessage {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split + 4);
  const [startLine = '', ...lines] = head.split('\r\n');
  const parsedHeaders: [string, string][] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && parsedHeaders.length > 0) {
      const last = parsedHeaders[parsedHeaders.length - 1] as [string, string];
      last[1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) parsedHeaders.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const message: SipMessage = { startLine, headers: parsedHeaders, body, raw };
  const response = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(startLine);
  if (response) {
    message.status = Number(response[1]);
    message.reason = response[2] ?? '';
  } else {
    const [method, uri] = startLine.split(' ');
    message.method = method;
    message.uri = uri;
  }
  return message;
}

/** Start line, headers (Content-Length added), blank line, body. */
export function serialize(startLine: string, headerList: readonly (readonly [string, string])[], body = ''): string {
  const lines = [
    startLine,
    ...headerList.filter(([n]) => canonical(n) !== 'content-length').map(([n, v]) => `${n}: ${v}`),
  ];
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export function randomToken(bytes = 6): string {
  return randomBytes(bytes).toString('hex');
}

export function newBranch(): string {
  return `z9hG4bK${randomToken(8)}`;
}

/** A response to `request`: its Via, From, Call-ID and CSeq, and its To with `toTag` added. */
export function buildResponse(
  request: SipMessage,
  status: number,
  reason: string,
  options: { toTag?: string; headers?: [string, string][]; body?: string } = {},
): string {
  const to = header(request, 'to') ?? '';
  const toValue = options.toTag && !param(to, 'tag') ? `${to};tag=${options.toTag}` : to;
  const list: [string, string][] = [
    ...headers(request, 'via').map((v): [string, string] => ['Via', v]),
    ['From', header(request, 'from') ?? ''],
    ['To', toValue],
    ['Call-ID', header(request, 'call-id') ?? ''],
    ['CSeq', header(request, 'cseq') ?? ''],
    ...headers(request, 'record-route').map((v): [string, string] => ['Record-Route', v]),
    ...(options.headers ?? []),
  ];
  return serialize(`SIP/2.0 ${status} ${reason}`, list, options.body ?? '');
}
