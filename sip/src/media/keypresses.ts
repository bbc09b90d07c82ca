import dgram from 'node:dgram';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { closeRedis } from '@deskline/env-config/redis';
import { RedisChannels } from '@deskline/store';

/** A key a patient pressed, as rtpengine saw it in their RTP (RFC 4733 telephone-event). */
export interface KeyPress {
  /** rtpengine's call id: the PatientCall's id. */
  callId: string;
  /** The tag of the side that sent it: the patient's From tag for the patient's keys. */
  tag: string;
  /** '0'–'9', '*', '#'. */
  key: string;
}

/** Keys closer than this to the call's previous key are dropped: a phone's repeats of one event, or a burst. */
export const KEY_SPACING_MS = 300;
/** rtpengine's datagrams are a few hundred bytes; anything larger is not one. */
const MAX_DATAGRAM_BYTES = 4096;
/** RFC 4733 events 0–11: the digits, then * and #. 12–15 (A–D) and the rest are not keys a caller has. */
const EVENT_KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'];

export interface KeypressListenerOptions {
  /** Where rtpengine sends (its --dtmf-log-dest): 127.0.0.1:RTPENGINE_DTMF_PORT. */
  host: string;
  port: number;
  /** rtpengine's address: datagrams from anywhere else are dropped. */
  rtpengineAddress: string;
  log: Logger;
  onKey(press: KeyPress): void;
}

/**
 * The patients' keypresses: rtpengine 10.5 reports each RFC 4733 event it forwards, once its end
 * packet arrives, as one JSON datagram to `--dtmf-log-dest` ({"callid", "source_tag", "event", …}).
 * One socket for the process; each key goes to `onKey`, which finds the call by its id. Dropped, with
 * at most a debug line: datagrams from another address, anything unreadable, events that are no key
 * (A–D, flash), and a key within KEY_SPACING_MS of the call's previous one (rtpengine may report one
 * press more than once; a burst of keys is noise, not a choice). Nothing a datagram holds can throw.
 */
export class KeypressListener {
  /** call id -> when its last key was taken (ms). */
  private readonly lastKeyAt = new Map<string, number>();
  private sweeper: NodeJS.Timeout | undefined;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly options: KeypressListenerOptions,
  ) {
    socket.on('message', (datagram, from) => this.onDatagram(datagram, from.address));
    socket.on('error', (err) => options.log.warn({ err }, 'keypress socket error'));
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  /**
   * Binds the socket. With address reuse, so that a new instance starting on the host before the old
   * one is gone (a rolling restart) binds too; the kernel then gives the datagrams to the newer one.
   */
  static async open(options: KeypressListenerOptions): Promise<KeypressListener> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port, options.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new KeypressListener(socket, options);
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private onDatagram(datagram: Buffer, address: string): void {
    const { log } = this.options;
    if (address !== this.options.rtpengineAddress) {
      log.debug({ address }, 'keypress datagram not from rtpengine; dropped');
      return;
    }
    const press = datagram.length <= MAX_DATAGRAM_BYTES ? parseKeypress(datagram) : undefined;
    if (!press) {
      log.debug({ bytes: datagram.length }, 'unreadable keypress datagram; dropped');
      return;
    }
    const now = Date.now();
    const last = this.lastKeyAt.get(press.callId);
    if (last !== undefined && now - last < KEY_SPACING_MS) {
      log.debug({ callId: press.callId, key: press.key }, 'key too soon after the previous one; dropped');
      return;
    }
    this.lastKeyAt.set(press.callId, now);
    try {
      this.options.onKey(press);
    } catch (err) {
      log.error({ err, callId: press.callId }, 'a keypress could not be handled');
    }
  }

  private sweep(): void {
    const before = Date.now() - KEY_SPACING_MS;
    for (const [callId, at] of this.lastKeyAt) if (at < before) this.lastKeyAt.delete(callId);
  }
}

/** One of rtpengine's DTMF datagrams, or undefined when it is not one or names no key. */
export function parseKeypress(datagram: Buffer): KeyPress | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(datagram.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  const { callid, source_tag: tag, event } = record;
  if (record['type'] !== undefined && record['type'] !== 'DTMF') return undefined;
  if (typeof callid !== 'string' || callid === '' || callid.length > 256) return undefined;
  if (typeof tag !== 'string' || tag === '' || tag.length > 256) return undefined;
  if (typeof event !== 'number' || !Number.isInteger(event)) return undefined;
  const key = EVENT_KEYS[event];
  return key === undefined ? undefined : { callId: callid, tag, key };
}

/**
 * Keys between the sip app instances of one host (docker-compose.scale.yml): rtpengine sends every key
 * to the one socket the kernel picks among theirs, so an instance that gets a key for a call it does
 * not hold publishes it (RedisChannels.callKeys), and each instance takes those of its own calls.
 */
export class KeyRelay {
  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
  ) {}

  /** Subscribes on a connection of its own; `deliver` answers whether this instance holds the call. */
  static async open(redis: Redis, log: Logger, deliver: (press: KeyPress) => boolean): Promise<KeyRelay> {
    const subscriber = redis.duplicate({ connectionName: 'sip-keys', lazyConnect: true });
    subscriber.on('error', (err: Error) => log.warn({ err: err.message }, 'key relay: Redis connection problem'));
    subscriber.on('message', (_channel: string, message: string) => {
      const press = parseRelayed(message);
      if (press) deliver(press);
    });
    await subscriber.connect();
    await subscriber.subscribe(RedisChannels.callKeys);
    return new KeyRelay(redis, subscriber);
  }

  /** Hands a key of a call this instance does not hold to the others. */
  pass(press: KeyPress): void {
    void this.redis.publish(RedisChannels.callKeys, JSON.stringify(press)).catch(() => undefined);
  }

  close(): Promise<void> {
    return closeRedis(this.subscriber);
  }
}

function parseRelayed(message: string): KeyPress | undefined {
  try {
    const { callId, tag, key } = JSON.parse(message) as Partial<KeyPress>;
    if (typeof callId !== 'string' || typeof tag !== 'string' || typeof key !== 'string') return undefined;
    return EVENT_KEYS.includes(key) ? { callId, tag, key } : undefined;
  } catch {
    return undefined;
  }
}
