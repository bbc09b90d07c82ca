/** What the tests' RTP observers share: packet rates and G.711 µ-law. */

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
