/**
 * Concurrent logins against a running Deskline. Prints latency percentiles and logins per second.
 *
 *   npm run bench:login -- [--url http://127.0.0.1:8080] [--concurrency 8] [--requests 400]
 *
 * Credentials: BENCH_EMAIL and BENCH_PASSWORD, or else every login in var/demo-logins.txt, the workers
 * spread over them. The login limits count an attempt while its password is being verified, so more
 * than LOGIN_FREE_ATTEMPTS concurrent logins of one account from one address are refused (429):
 * those are counted apart, not as failures. Each session is logged out again (outside the timed
 * part) so the bench leaves no sessions behind.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CSRF_HEADER, type SessionInfo } from '@deskline/protocol';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    concurrency: { type: 'string', default: '8' },
    requests: { type: 'string', default: '400' },
  },
});
const base = values.url;
const concurrency = Number(values.concurrency);
const total = Number(values.requests);

interface Credentials {
  email: string;
  password: string;
}

function credentials(): Credentials[] {
  const email = process.env['BENCH_EMAIL'];
  const password = process.env['BENCH_PASSWORD'];
  if (email && password) return [{ email, password }];
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../var/demo-logins.txt');
  const logins = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/))
    .filter((cells) => (cells[0] === 'employee' || cells[0] === 'manager') && cells[1] && cells[2])
    .map((cells) => ({ email: cells[1]!, password: cells[2]! }));
  if (logins.length === 0) throw new Error(`No login found in ${file}; set BENCH_EMAIL and BENCH_PASSWORD.`);
  return logins;
}

const logins = credentials();
const latencies: number[] = [];
let failures = 0;
let limited = 0;
let next = 0;

async function worker(login: Credentials): Promise<void> {
  while (next < total) {
    next += 1;
    const started = performance.now();
    const response = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(login),
    });
    const elapsed = performance.now() - started;
    if (response.status !== 200) {
      if (response.status === 429) limited += 1;
      else failures += 1;
      await response.arrayBuffer();
      continue;
    }
    latencies.push(elapsed);
    const session = (await response.json()) as SessionInfo;
    const cookie = response.headers.get('set-cookie')?.split(';')[0] ?? '';
    await fetch(`${base}/api/auth/logout`, { method: 'POST', headers: { cookie, [CSRF_HEADER]: session.csrfToken } });
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(logins[i % logins.length]!)));
const seconds = (performance.now() - started) / 1000;

latencies.sort((a, b) => a - b);
const pct = (p: number): string =>
  (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN).toFixed(1);
console.log(
  `logins: ${latencies.length} ok, ${failures} failed, ${limited} refused by the login limits (429), concurrency ${concurrency} over ${logins.length} accounts`,
);
console.log(`latency ms: p50 ${pct(50)}  p95 ${pct(95)}  p99 ${pct(99)}  max ${pct(100)}`);
// Wall time includes the untimed logouts, so this is a lower bound on login throughput.
console.log(
  `throughput: ${(latencies.length / seconds).toFixed(1)} logins/s (login + logout cycles, ${seconds.toFixed(1)} s)`,
);
if (failures > 0) process.exitCode = 1;
