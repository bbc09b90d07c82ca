/**
 * Turns the launcher's children's output into one readable stream: every line gets the name of the
 * process that wrote it, and pino's JSON lines become a short human line.
 */

const LEVEL_WORDS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_WIDTH = 5;

interface PinoLine {
  level?: unknown;
  time?: unknown;
  msg?: unknown;
  req?: { method?: unknown; url?: unknown };
  res?: { statusCode?: unknown };
  responseTime?: unknown;
  err?: string | { message?: unknown; stack?: unknown };
  reqId?: unknown;
}

function parsePino(line: string): PinoLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    if (!('level' in value) || !('msg' in value || 'time' in value)) return undefined;
    return value;
  } catch {
    return undefined;
  }
}

function levelWord(level: unknown): string {
  if (typeof level === 'number') return LEVEL_WORDS[level] ?? `L${level}`;
  if (typeof level === 'string') return level.toUpperCase();
  return '?';
}

function clock(time: unknown): string {
  const date = typeof time === 'number' || typeof time === 'string' ? new Date(time) : new Date();
  const at = Number.isNaN(date.getTime()) ? new Date() : date;
  return [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** pino's own fields, and those the line already says in its own words. */
const SHOWN_APART = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'name',
  'req',
  'res',
  'responseTime',
  'err',
  'reqId',
  'v',
]);

/**
 * The line's context (callId, state, userId…), as `key=value`: without it "call state changed" does
 * not say which call, nor into what. Objects are left out: they are for the JSON log.
 */
function describeContext(entry: PinoLine): string | undefined {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    if (SHOWN_APART.has(key)) continue;
    if (typeof value === 'string')
      pairs.push(`${key}=${/[\s"]/.test(value) || value === '' ? JSON.stringify(value) : value}`);
    else if (typeof value === 'number' || typeof value === 'boolean') pairs.push(`${key}=${String(value)}`);
  }
  return pairs.length > 0 ? pairs.join(' ') : undefined;
}

/**
 * Fastify logs a request twice: "incoming request" with req.method/req.url, and "request completed"
 * with res.statusCode/responseTime but without the URL. Remembering the first by reqId lets the second
 * say which request it was.
 */
export class PinoFormatter {
  private readonly requests = new Map<string, string>();

  /** Returns the lines to print for one line of output: pino JSON made human, anything else as is. */
  format(line: string): string[] {
    const entry = parsePino(line);
    if (!entry) return [line];
    const parts = [clock(entry.time), levelWord(entry.level).padEnd(LEVEL_WIDTH)];
    if (typeof entry.msg === 'string' && entry.msg !== '') parts.push(entry.msg);
    const request = this.describeRequest(entry);
    if (request) parts.push(request);
    const context = describeContext(entry);
    if (context) parts.push(context);
    const out = [parts.join(' ')];
    const err = entry.err;
    if (typeof err === 'string') {
      out[0] += ` (${err})`;
    } else if (err && typeof err === 'object') {
      if (typeof entry.level === 'number' && entry.level >= 50 && typeof err.stack === 'string') {
        out.push(...err.stack.split('\n').map((l) => `    ${l}`));
      } else if (typeof err.message === 'string') {
        out[0] += ` (${err.message})`;
      }
    }
    return out;
  }

  private describeRequest(entry: PinoLine): string | undefined {
    const reqId = typeof entry.reqId === 'string' || typeof entry.reqId === 'number' ? String(entry.reqId) : undefined;
    const method = entry.req?.method;
    const url = entry.req?.url;
    let target = typeof method === 'string' && typeof url === 'string' ? `${method} ${url}` : undefined;
    if (target && reqId) {
      this.requests.set(reqId, target);
      // Requests that never complete must not grow this map without bound.
      if (this.requests.size > 1000) this.requests.delete(this.requests.keys().next().value as string);
    }
    const status = entry.res?.statusCode;
    if (typeof status !== 'number') return target;
    if (!target && reqId) target = this.requests.get(reqId);
    if (reqId) this.requests.delete(reqId);
    const ms = typeof entry.responseTime === 'number' ? ` ${entry.responseTime.toFixed(1)}ms` : '';
    return `${target ?? ''} ${status}${ms}`.trim();
  }
}

/** Writes lines prefixed with a padded process name, e.g. `redis     | Ready to accept connections`. */
export class PrefixedOutput {
  private readonly width: number;
  private readonly formatters = new Map<string, PinoFormatter>();

  constructor(names: readonly string[]) {
    this.width = Math.max(...names.map((n) => n.length));
  }

  /** One line a child process wrote. */
  child(name: string, line: string, stream: 'stdout' | 'stderr'): void {
    let formatter = this.formatters.get(name);
    if (!formatter) {
      formatter = new PinoFormatter();
      this.formatters.set(name, formatter);
    }
    for (const out of formatter.format(line)) this.write(name, out, stream);
  }

  /** A message of the launcher itself; may span several lines. */
  say(name: string, text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    for (const line of text.split('\n')) this.write(name, line, stream);
  }

  private write(name: string, line: string, stream: 'stdout' | 'stderr'): void {
    const target = stream === 'stdout' ? process.stdout : process.stderr;
    target.write(`${name.padEnd(this.width)} | ${line}\n`);
  }
}
