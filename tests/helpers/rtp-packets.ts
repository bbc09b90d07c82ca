/** What the tests' RTP observers share: a packet list that can be waited on, and G.711 µ-law. */

/**
 * Packets as they arrive, and a bounded wait for a condition over them. `waitUntil` resolves with
 * the first non-undefined value of `check`, re-checked on every new packet.
 */
export class PacketLog<P> {
  readonly packets: P[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly name: string) {}

  add(packet: P): void {
    this.packets.push(packet);
    for (const listener of [...this.listeners]) listener();
  }

  /** Drops every packet so far (a long benchmark keeps only the window it is measuring). */
  clear(): void {
    this.packets.length = 0;
  }

  waitUntil<T>(what: string, check: (packets: readonly P[]) => T | undefined, timeoutMs: number): Promise<T> {
    const now = check(this.packets);
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const listener = (): void => {
        const value = check(this.packets);
        if (value === undefined) return;
        this.listeners.delete(listener);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what} (${this.packets.length} packets so far)`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }
}

/** Packets per second over the packets given (first to last arrival). */
export function packetsPerSecond(packets: readonly { at: number }[]): number {
  const first = packets[0];
  const last = packets[packets.length - 1];
  if (!first || !last || last.at === first.at) return 0;
  return ((packets.length - 1) * 1000) / (last.at - first.at);
}

/** G.711 µ-law to 16-bit linear. */
export function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}
