import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, type LaunchConfig, type SipEdgeConfig } from './launch-config.js';
import type { PrefixedOutput } from './log-format.js';
import { redisUrl } from './services.js';
import type { Supervisor } from './supervisor.js';

export const SEED_NAME = 'seed-demo';
const SEED_TIMEOUT_MS = 60_000;

export interface DemoLogin {
  email: string;
  password: string;
  role: string;
  displayName: string;
}

/** A demo desk phone's SIP account (signaling's DemoDeskPhone). */
export interface DemoDeskPhone {
  workstation: string;
  sipUser: string;
  sipPassword: string;
}

export type SeedResult =
  { created: false } | { created: true; logins: DemoLogin[]; workstations: string[]; deskPhones: DemoDeskPhone[] };

const isString = (value: unknown): value is string => typeof value === 'string';

function isLogin(value: unknown): value is DemoLogin {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return isString(v['email']) && isString(v['password']) && isString(v['role']) && isString(v['displayName']);
}

function isDeskPhone(value: unknown): value is DemoDeskPhone {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return isString(v['workstation']) && isString(v['sipUser']) && isString(v['sipPassword']);
}

/** Reads the seed CLI's one JSON result line, or returns undefined for any other line. */
export function parseSeedResult(line: string): SeedResult | undefined {
  if (!line.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v['created'] === false) return { created: false };
  if (v['created'] !== true) return undefined;
  const logins = v['logins'];
  const workstations = v['workstations'] ?? [];
  const deskPhones = v['deskPhones'] ?? [];
  if (
    !Array.isArray(logins) ||
    !logins.every(isLogin) ||
    !Array.isArray(workstations) ||
    !workstations.every(isString) ||
    !Array.isArray(deskPhones) ||
    !deskPhones.every(isDeskPhone)
  ) {
    throw new Error(`${SEED_NAME} printed a result the launcher does not understand: ${line.slice(0, 200)}`);
  }
  return { created: true, logins, workstations, deskPhones };
}

/** Creates the demo users and workstations on first start, through signaling's CLI. */
export async function seedDemo(supervisor: Supervisor, out: PrefixedOutput, config: LaunchConfig): Promise<SeedResult> {
  let result: SeedResult | undefined;
  await supervisor.run(
    {
      name: SEED_NAME,
      command: process.execPath,
      args: [path.join(REPO_ROOT, 'signaling/dist/cli.js'), 'seed-demo', '--json'],
      cwd: REPO_ROOT,
      // The desk phone's HA1 is made for the realm Kamailio runs with.
      env: { ...config.env, REDIS_URL: redisUrl(config), SIP_DOMAIN: config.sip.domain },
      onLine: (line, stream) => {
        const parsed = stream === 'stdout' ? parseSeedResult(line) : undefined;
        // The result line carries passwords; they are shown once, in the ready message, not as raw JSON.
        if (parsed) result = parsed;
        else out.child(SEED_NAME, line, stream);
      },
    },
    SEED_TIMEOUT_MS,
  );
  if (!result) throw new Error(`${SEED_NAME} exited without printing its result line.`);
  return result;
}

/**
 * The baresip command that registers as a demo desk phone through Kamailio and answers calls by itself
 * (pbx-config/test-clients/baresip-desk-phone).
 */
export function baresipDeskPhoneCommand(
  phone: DemoDeskPhone,
  sip: Pick<SipEdgeConfig, 'domain' | 'listenHost' | 'sipPort'>,
): string {
  const host = sip.listenHost.includes(':') ? `[${sip.listenHost}]` : sip.listenHost;
  const account = `<sip:${phone.sipUser}@${sip.domain}>;auth_pass=${phone.sipPassword};outbound="sip:${host}:${sip.sipPort}";answermode=auto;regint=300`;
  return `baresip -f pbx-config/test-clients/baresip-desk-phone -e '/uanew ${account}'`;
}

/** The human-readable file of demo logins. */
export function demoLoginsText(
  result: Extract<SeedResult, { created: true }>,
  createdAt: Date,
  sip: Pick<SipEdgeConfig, 'domain' | 'listenHost' | 'sipPort'>,
): string {
  const rows = [
    ['role', 'email', 'password', 'name'],
    ...result.logins.map((l) => [l.role, l.email, l.password, l.displayName]),
  ];
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((row) => row[col]?.length ?? 0)));
  const table = rows.map((row) =>
    row
      .map((cell, col) => cell.padEnd(widths[col] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  return (
    [
      `Deskline demo logins, created ${createdAt.toISOString()} by the first start of this installation.`,
      'Anyone who can read this file can log in with them. Change the passwords before real use.',
      '',
      ...table,
      '',
      ...(result.workstations.length ? [`Workstations: ${result.workstations.join(', ')}`] : []),
      ...result.deskPhones.flatMap((phone) => [
        '',
        `Desk phone "${phone.workstation}": SIP user ${phone.sipUser}, password ${phone.sipPassword}, domain ${sip.domain},`,
        `registrar ${sip.listenHost}:${sip.sipPort} (UDP or TCP). To use baresip as this phone, from the repository root:`,
        `  ${baresipDeskPhoneCommand(phone, sip)}`,
      ]),
    ].join('\n') + '\n'
  );
}

/** Writes the file readable by its owner only, and never half-written. */
export function writeDemoLogins(file: string, text: string): void {
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

export function readDemoLogins(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The block printed once everything is up. */
export function readyMessage(url: string, file: string, logins: string | undefined): string {
  const rule = '='.repeat(78);
  const body = logins
    ? [
        `  Demo logins (from ${file}):`,
        '',
        ...logins
          .trimEnd()
          .split('\n')
          .map((line) => `    ${line}`.trimEnd()),
      ]
    : [
        `  No demo logins to show: ${file} does not exist.`,
        '  The demo users were created by an earlier start; their passwords are not stored elsewhere.',
      ];
  return ['', rule, `  Deskline is ready: ${url}`, '', ...body, '', '  Press Ctrl-C to stop.', rule, ''].join('\n');
}
