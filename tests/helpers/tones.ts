import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A sine tone made with sox, at half volume: what the tests' patients and fake microphones send.
 *   - `ulaw`: raw G.711 µ-law at 8 kHz, mono, for sipp's pcap-less RTP playback and Node RTP senders;
 *   - `wav`: 16-bit PCM WAV at `rate` (48 kHz by default), mono, for Chromium's fake audio capture
 *     and linphone.
 */
export async function writeTone(
  file: string,
  tone: { hz: number; seconds: number; format: 'ulaw' | 'wav'; rate?: number },
): Promise<string> {
  const output =
    tone.format === 'ulaw'
      ? ['-r', '8000', '-c', '1', '-t', 'ul', file]
      : ['-r', String(tone.rate ?? 48_000), '-c', '1', '-b', '16', file];
  await run('sox', ['-n', ...output, 'synth', String(tone.seconds), 'sine', String(tone.hz), 'vol', '0.5']);
  return file;
}
