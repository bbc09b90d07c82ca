/**
 * Runs sipp (Debian's sip-tester) with a scenario file, as a patient's phone, a trunk, a desk phone
 * or an attacker, and reports how it ended and which SIP messages went back and forth.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SippOptions {
  /** Path of the scenario XML. */
  scenario: string;
  /** Where to send (Kamailio). */
  remoteHost: string;
  remotePort: number;
  /** Local address to send from (-i); 127.0.0.2 makes it a different source than 127.0.0.1. */
  localIp?: string;
  /** Local port (-p); sipp chooses a free one when absent. */
  localPort?: number;
  /** 'u1' (UDP, one socket, the default) or 't1' (TCP, one connection). */
  transport?: 'u1' | 't1';
  /** Values for the scenario's [keyword]s (-key). */
  keys?: Record<string, string>;
  /** Digest credentials for [authentication] (-au, -ap). */
  auth?: { username: string; password: string };
  /** Calls to make (-m). Default 1. */
  calls?: number;
  /** sipp gives up (and fails) after this long. Default 15 s. */
  timeoutMs?: number;
  extraArgs?: string[];
  /** Where sipp runs, and so where a scenario's relative file names (an rtp_stream WAV) are found. Default a fresh temporary directory. */
  cwd?: string;
  /** Kills sipp (SIGKILL) when aborted: a phone whose line is cut, that never says goodbye. */
  signal?: AbortSignal;
}

export interface SippResult {
  /** 0: every call passed the scenario; 1: at least one failed; anything else: sipp could not run it. */
  code: number | null;
  /** The SIP messages sipp sent and received (-trace_msg). */
  messages: string;
  /** Unexpected messages (-trace_err). */
  errors: string;
  stdout: string;
  stderr: string;
}

function readIfThere(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export async function runSipp(options: SippOptions): Promise<SippResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-sipp-'));
  const messageFile = path.join(dir, 'messages.log');
  const errorFile = path.join(dir, 'errors.log');
  const timeoutMs = options.timeoutMs ?? 15_000;
  const args = [
    `${options.remoteHost}:${options.remotePort}`,
    '-sf',
    options.scenario,
    '-m',
    String(options.calls ?? 1),
    '-t',
    options.transport ?? 'u1',
    '-i',
    options.localIp ?? '127.0.0.1',
    ...(options.localPort ? ['-p', String(options.localPort)] : []),
    '-nostdin',
    '-timeout',
    `${Math.ceil(timeoutMs / 1000)}s`,
    '-timeout_error',
    '-trace_msg',
    '-message_file',
    messageFile,
    '-trace_err',
    '-error_file',
    errorFile,
    ...Object.entries(options.keys ?? {}).flatMap(([k, v]) => ['-key', k, v]),
    ...(options.auth ? ['-au', options.auth.username, '-ap', options.auth.password] : []),
    ...(options.extraArgs ?? []),
  ];
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn('sipp', args, { cwd: options.cwd ?? dir, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        // sipp's own -timeout ends it; this only bounds a sipp that hangs anyway.
        const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5000);
        const cut = (): void => void child.kill('SIGKILL');
        if (options.signal?.aborted) cut();
        options.signal?.addEventListener('abort', cut, { once: true });
        child.once('error', (e) => {
          clearTimeout(killer);
          reject(new Error(`could not run sipp (apt-get install sip-tester): ${e.message}`));
        });
        child.once('close', (exitCode) => {
          clearTimeout(killer);
          options.signal?.removeEventListener('abort', cut);
          resolve({ code: exitCode, stdout: out, stderr: err });
        });
      },
    );
    return { code, messages: readIfThere(messageFile), errors: readIfThere(errorFile), stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A failure message with what sipp saw, for assertions. */
export function describeSipp(result: SippResult): string {
  return `sipp exited ${result.code}\n--- messages\n${result.messages}\n--- errors\n${result.errors}\n--- stderr\n${result.stderr}`;
}
