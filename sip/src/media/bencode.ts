/**
 * Bencode, the encoding of rtpengine's ng protocol: byte strings, integers, lists and dictionaries.
 * Byte strings decode to Buffers, because SDP is text but a `blob` or a tag need not be; `toText`
 * turns a decoded value into plain JSON-like data once the caller knows it is text.
 */

/** What `decode` returns. Dictionary keys are decoded as UTF-8. */
export type BencodeValue = Buffer | number | BencodeValue[] | { [key: string]: BencodeValue };

/** What `encode` accepts: strings are written as UTF-8; undefined dictionary entries are left out. */
export type Encodable = string | Buffer | Uint8Array | number | readonly Encodable[] | EncodableDict;
export interface EncodableDict {
  readonly [key: string]: Encodable | undefined;
}

/** The text form of a decoded value: every byte string read as UTF-8. */
export type TextValue = string | number | TextValue[] | { [key: string]: TextValue };

export class BencodeError extends Error {
  override name = 'BencodeError';
}

/** Nesting deeper than this is refused, so a hostile or broken reply cannot exhaust the stack. */
const MAX_DEPTH = 64;

export function encode(value: Encodable): Buffer {
  const parts: Buffer[] = [];
  write(value, parts, 0);
  return Buffer.concat(parts);
}

function write(value: Encodable, out: Buffer[], depth: number): void {
  if (depth > MAX_DEPTH) throw new BencodeError('value nested too deeply to encode');
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    out.push(Buffer.from(`${bytes.length}:`), bytes);
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new BencodeError(`only safe integers can be encoded, not ${value}`);
    out.push(Buffer.from(`i${value}e`));
  } else if (value instanceof Uint8Array) {
    out.push(Buffer.from(`${value.length}:`), Buffer.from(value));
  } else if (Array.isArray(value)) {
    out.push(Buffer.from('l'));
    for (const item of value as readonly Encodable[]) write(item, out, depth + 1);
    out.push(Buffer.from('e'));
  } else {
    const dict = value as EncodableDict;
    // The bencode standard orders keys by their raw bytes; rtpengine does not require it, but
    // deterministic output makes requests comparable in logs and tests.
    const keys = Object.keys(dict)
      .filter((key) => dict[key] !== undefined)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    out.push(Buffer.from('d'));
    for (const key of keys) {
      write(key, out, depth + 1);
      write(dict[key] as Encodable, out, depth + 1);
    }
    out.push(Buffer.from('e'));
  }
}

/** Decodes exactly one value that fills `input`; throws BencodeError naming the offset otherwise. */
export function decode(input: Uint8Array): BencodeValue {
  const buffer = Buffer.isBuffer(input) ? input : Buffer.from(input);
  const reader = { buffer, offset: 0 };
  const value = read(reader, 0);
  if (reader.offset !== buffer.length) {
    throw new BencodeError(`unexpected data after the value at offset ${reader.offset}`);
  }
  return value;
}

interface Reader {
  buffer: Buffer;
  offset: number;
}

const CHAR_I = 0x69;
const CHAR_L = 0x6c;
const CHAR_D = 0x64;
const CHAR_E = 0x65;
const CHAR_COLON = 0x3a;

function read(reader: Reader, depth: number): BencodeValue {
  if (depth > MAX_DEPTH) throw new BencodeError(`value nested too deeply at offset ${reader.offset}`);
  const byte = reader.buffer[reader.offset];
  if (byte === undefined) throw new BencodeError(`unexpected end of data at offset ${reader.offset}`);
  if (byte === CHAR_I) {
    reader.offset += 1;
    return readInteger(reader, CHAR_E);
  }
  if (byte === CHAR_L) {
    reader.offset += 1;
    const list: BencodeValue[] = [];
    while (peek(reader) !== CHAR_E) list.push(read(reader, depth + 1));
    reader.offset += 1;
    return list;
  }
  if (byte === CHAR_D) {
    reader.offset += 1;
    const dict: { [key: string]: BencodeValue } = {};
    while (peek(reader) !== CHAR_E) {
      const keyAt = reader.offset;
      const key = read(reader, depth + 1);
      if (!Buffer.isBuffer(key)) throw new BencodeError(`dictionary key at offset ${keyAt} is not a string`);
      setOwn(dict, key.toString('utf8'), read(reader, depth + 1));
    }
    reader.offset += 1;
    return dict;
  }
  if (byte >= 0x30 && byte <= 0x39) {
    const length = readInteger(reader, CHAR_COLON);
    if (length < 0) throw new BencodeError(`negative string length at offset ${reader.offset}`);
    const end = reader.offset + length;
    if (end > reader.buffer.length) throw new BencodeError(`string at offset ${reader.offset} runs past the end`);
    const bytes = Buffer.from(reader.buffer.subarray(reader.offset, end));
    reader.offset = end;
    return bytes;
  }
  throw new BencodeError(`unexpected byte 0x${byte.toString(16)} at offset ${reader.offset}`);
}

function peek(reader: Reader): number {
  const byte = reader.buffer[reader.offset];
  if (byte === undefined) throw new BencodeError(`unexpected end of data at offset ${reader.offset}`);
  return byte;
}

function readInteger(reader: Reader, terminator: number): number {
  const start = reader.offset;
  const end = reader.buffer.indexOf(terminator, start);
  if (end === -1) throw new BencodeError(`unterminated integer at offset ${start}`);
  const text = reader.buffer.toString('latin1', start, end);
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) throw new BencodeError(`malformed integer "${text}" at offset ${start}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new BencodeError(`integer ${text} at offset ${start} is too large`);
  reader.offset = end + 1;
  return value;
}

/** Reads every byte string of a decoded value as UTF-8. */
export function toText(value: BencodeValue): TextValue {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return value.map(toText);
  const out: { [key: string]: TextValue } = {};
  for (const [key, item] of Object.entries(value)) setOwn(out, key, toText(item));
  return out;
}

/** Plain assignment would treat a key named "__proto__" as the prototype; data keys stay data. */
function setOwn<T>(target: { [key: string]: T }, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
