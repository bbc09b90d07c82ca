#!/usr/bin/env node
/**
 * deskline: the command-line tool for clinic IT. It works on the same Redis through the same store
 * classes as the API, so a user created here is the same as one created in the app.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import {
  NUMBER_TYPES,
  NUMBER_TYPE_NAMES,
  isRole,
  WORKSTATION_KINDS,
  type CallPlan,
  type NumberType,
  type OutboundPolicy,
  type WorkstationKind,
} from '@deskline/protocol';
import { OutboundPolicyStore, PolicyError, evaluate } from '@deskline/outbound-policy';
import { CallPlanStore } from '@deskline/store';
import { callPlanProblems } from './services/call-plan-check.js';
import { ConfigError, loadConfig } from './config.js';
import { ClientError } from './errors.js';
import { AccountService } from './services/account-service.js';
import { AgentService } from './services/agent-service.js';
import { seedDemoData } from './services/demo-data.js';
import { LoginLimiter, loginLimitsFrom } from './services/login-limiter.js';
import { PatientNumberError, forgetPatient } from './services/patient-forget.js';
import { VoicemailService } from './services/voicemail-service.js';
import { SessionStore } from './services/session-store.js';
import { SubjectStore } from './services/subject-store.js';
import { UserStore } from './services/user-store.js';
import { WorkstationStore } from './services/workstation-store.js';
import { connectRedis, describeRedis, type RedisSettings } from '@deskline/env-config/redis';
import { readSecret } from './read-secret.js';

const USAGE = `Usage: deskline <command> [options]

Commands:
  user create --email E --name "Full Name" --role manager|employee
                                  create a user; the password is read from stdin or a prompt
  user list [--json]              list users
  user disable --email E          disable a user and end their sessions
  user enable --email E           enable a disabled user
  user reset-password --email E   set a new password (stdin or prompt) and end their sessions
  workstation create --name N [--kind browser|sip-phone] [--sip-user U]
                                  create a workstation; a desk phone (sip-phone) gets the SIP user
                                  U (e.g. its extension, 201) or phone-<n>, and a generated SIP
                                  password, printed once
  workstation reset-sip-password --name N [--sip-user U]
                                  give a desk phone a new SIP password, printed once (and the SIP
                                  user U, or phone-<n>, if it was created without one)
  workstation rename --name N --to NEW
                                  rename a workstation; its history and SIP user stay
  workstation remove --name N     remove a workstation and revoke its SIP credentials at once; whoever
                                  is on it is taken off it, but not during a call (refused)
  workstation list [--json]       list workstations, with whether each is registered, when it last
                                  registered and its user agent
  subject list [--json]           list the subjects calls are filed under, retired ones last
  subject create --name N         add a subject
  subject rename --name OLD --to NEW
                                  rename a subject; tasks that have it show the new name
  subject retire --name N         stop offering a subject; tasks that have it keep it
  subject restore --name N        offer a retired subject again
  patient forget NUMBER           remove a patient's number from everything Deskline keeps (tasks,
                                  callbacks, call records, statistics, event streams), in any of
                                  the spellings it may be stored under (+49…, 0049…, 49…); prints
                                  what it removed
  seed-demo [--json]              create demo users and workstations when there are no users, and
                                  the default subjects when there are no subjects
  outbound-policy show [--json]   the callback policy: what Call back may dial, how often, how long
  outbound-policy set [--allow +48,+420] [--deny +4870] [--types FIXED_LINE,MOBILE,…]
                      [--per-day N] [--max-seconds S]
                                  change the given parts of the callback policy (prefixes in E.164,
                                  kinds as in "show"; --allow "" or --deny "" empties the list)
  outbound-policy reset           back to the default: CLINIC_COUNTRY's landlines and mobiles, 50 a
                                  day per employee, 30 minutes
  outbound-policy check --number N
                                  whether the policy lets Call back dial N, and why not
  call-plan show                  the call plan in force, as JSON (docs/call-plan.md)
  call-plan set FILE.json         replace the call plan with the one in the file, checked as the
                                  app checks it; nothing is changed when it has problems

Environment: REDIS_URL (required), e.g. redis://127.0.0.1:6379 (without a password in it, the one
npm start generated, DESKLINE_VAR_DIR/secrets/redis-password, is used); REDIS_SENTINELS and
REDIS_SENTINEL_MASTER, as signaling runs with, to find Redis through Sentinel; SIP_DOMAIN (default
deskline.local), the realm desk phones' passwords are stored for: the same value Kamailio runs with;
CLINIC_COUNTRY (default PL) and CLINIC_TIME_ZONE, as signaling and the sip app run with`;

class UsageError extends Error {}

/**
 * The launcher's Redis password (DESKLINE_VAR_DIR's secrets/redis-password), or undefined when there
 * is no such file.
 */
function launcherRedisPassword(varDir: string): string | undefined {
  try {
    return readFileSync(path.join(varDir, 'secrets', 'redis-password'), 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A connection that has answered PING (so that a refused password shows here, not in the command). */
async function openRedis(settings: RedisSettings): Promise<Redis> {
  const redis = await connectRedis(settings, { connectionName: 'deskline-cli', once: true, onError: () => undefined });
  try {
    await redis.ping();
    return redis;
  } catch (err) {
    redis.disconnect();
    throw new Error(`Cannot reach Redis ${describeRedis(settings)}: ${(err as Error).message}`);
  }
}

/**
 * Connects to REDIS_URL (or through REDIS_SENTINELS). When Redis refuses it without a password and the
 * URL carries none, the launcher's is used, so that `npm run deskline` beside `npm start` needs only
 * the address. The password stays in this process: it is on no command line.
 */
async function openRedisWithLauncherPassword(settings: RedisSettings, varDir: string): Promise<Redis> {
  const password = new URL(settings.REDIS_URL).password ? undefined : launcherRedisPassword(varDir);
  try {
    return await openRedis(settings);
  } catch (err) {
    // Without a password, Redis answers the connection's first command NOAUTH, and ioredis closes it.
    if (!password || !/NOAUTH|closed/i.test((err as Error).message)) throw err;
    const withPassword = new URL(settings.REDIS_URL);
    withPassword.password = encodeURIComponent(password);
    return openRedis({ ...settings, REDIS_URL: withPassword.toString() }).catch(() => {
      throw err;
    });
  }
}

/** What to set on the desk phone. The password is shown this once: Redis keeps only its HA1. */
function deskPhoneAccount(sipUser: string, password: string, domain: string): string {
  return [
    `  SIP user:     ${sipUser}`,
    `  SIP password: ${password}`,
    `  domain/realm: ${domain}`,
    '  Set these on the phone now: the password is not stored and cannot be shown again.',
  ].join('\n');
}

/** "+48, +420" as a list ("" is an empty one). */
function listOf(value: string): string[] {
  return value.split(/[\s,;]+/).filter((item) => item !== '');
}

function integerOf(value: string, flag: string): number {
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`--${flag} must be a whole number.`);
  return Number(value);
}

function describePolicy(policy: OutboundPolicy, country: string): string {
  return [
    `Clinic's country (CLINIC_COUNTRY): ${country}`,
    `Allowed prefixes: ${policy.allowedPrefixes.join(', ') || 'none (nothing can be called back)'}`,
    `Denied prefixes:  ${policy.deniedPrefixes.join(', ') || 'none'}`,
    `Kinds allowed:    ${policy.allowedTypes.map((type) => `${type} (${NUMBER_TYPE_NAMES[type]})`).join(', ') || 'none'}`,
    `Callbacks per employee per day: ${policy.maxCallbacksPerDay}`,
    `Longest callback: ${policy.maxDurationSeconds} s`,
  ].join('\n');
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`Missing --${flag}.`);
  return value;
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      to: { type: 'string' },
      role: { type: 'string' },
      kind: { type: 'string' },
      'sip-user': { type: 'string' },
      allow: { type: 'string' },
      deny: { type: 'string' },
      types: { type: 'string' },
      'per-day': { type: 'string' },
      'max-seconds': { type: 'string' },
      number: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals.join(' ');
  if (values.help || command === '') {
    console.log(USAGE);
    return;
  }

  const config = loadConfig(process.env);
  const redis = await openRedisWithLauncherPassword(config, config.DESKLINE_VAR_DIR);
  try {
    const users = new UserStore(redis);
    const sessions = new SessionStore(redis, {
      idleMs: config.SESSION_IDLE_MINUTES * 60_000,
      maxMs: config.SESSION_MAX_HOURS * 3_600_000,
    });
    const workstations = new WorkstationStore(redis, { sipDomain: config.SIP_DOMAIN });
    const limiter = new LoginLimiter(redis, loginLimitsFrom(config));
    const subjects = new SubjectStore(redis);
    const outboundPolicy = new OutboundPolicyStore(redis, config.CLINIC_COUNTRY);
    const subjectByName = async (): Promise<string> => {
      const name = required(values.name, 'name');
      const subject = await subjects.findByName(name);
      if (!subject) throw new ClientError(404, `No subject named "${name}".`);
      return subject.id;
    };
    const agents = new AgentService(redis, workstations);
    const accounts = new AccountService(users, sessions, agents, limiter);
    const workstationByName = async () => {
      const name = required(values.name, 'name');
      const found = await workstations.findByName(name);
      if (!found) throw new ClientError(404, `No workstation named "${name}".`);
      return found;
    };
    const userByEmail = async (): Promise<string> => {
      const email = required(values.email, 'email');
      const user = await users.findByEmail(email);
      if (!user) throw new ClientError(404, `No user with the email ${email}.`);
      return user.id;
    };

    // `patient forget` and `call-plan set` take an argument.
    const verb = ['patient', 'call-plan'].includes(positionals[0] ?? '') ? positionals.slice(0, 2).join(' ') : command;
    switch (verb) {
      case 'patient forget': {
        const number = positionals[2];
        if (!number || positionals.length > 3) throw new UsageError('Give one number: deskline patient forget NUMBER');
        const report = await forgetPatient(redis, number, new VoicemailService(redis, config.RECORDINGS_DIR));
        console.log(`Looked for ${report.spellings.join(', ')}.`);
        for (const line of report.removed) console.log(`removed ${line}`);
        if (report.removed.length === 0) console.log('Nothing held this number.');
        if (report.skippedActiveCalls.length > 0) {
          console.log(
            `Left ${report.skippedActiveCalls.length} call(s) in progress as they are (${report.skippedActiveCalls.join(', ')}): run this again once they have ended.`,
          );
          process.exitCode = 3;
        }
        break;
      }
      case 'user create': {
        const email = required(values.email, 'email');
        const displayName = required(values.name, 'name');
        const role = required(values.role, 'role');
        if (!isRole(role)) throw new UsageError('--role must be manager or employee.');
        const password = await readSecret(`Password for ${email}: `);
        const user = await users.create({ email, displayName, role, password });
        console.log(`Created ${user.role} ${user.displayName} <${user.email}> (id ${user.id}).`);
        break;
      }
      case 'user list': {
        const list = await users.list();
        if (values.json) console.log(JSON.stringify(list));
        else
          for (const u of list)
            console.log(
              `${u.email.padEnd(32)} ${u.role.padEnd(9)} ${u.disabled ? 'disabled' : 'active  '} ${u.displayName}`,
            );
        break;
      }
      case 'user disable': {
        const user = await accounts.disable(await userByEmail());
        console.log(`Disabled ${user.email}; their sessions have ended.`);
        break;
      }
      case 'user enable': {
        const user = await accounts.enable(await userByEmail());
        console.log(`Enabled ${user.email}.`);
        break;
      }
      case 'user reset-password': {
        const id = await userByEmail();
        await accounts.resetPassword(id, await readSecret(`New password for ${values.email}: `));
        console.log(`Password changed for ${values.email}; their sessions have ended.`);
        break;
      }
      case 'workstation create': {
        const kind = values.kind ?? 'browser';
        if (!(WORKSTATION_KINDS as readonly string[]).includes(kind)) {
          throw new UsageError(`--kind must be one of: ${WORKSTATION_KINDS.join(', ')}.`);
        }
        const ws = await workstations.create({
          name: required(values.name, 'name'),
          kind: kind as WorkstationKind,
          sipUser: values['sip-user'],
        });
        console.log(`Created workstation "${ws.name}" (${ws.kind}, id ${ws.id}).`);
        if (ws.sipUser !== undefined && ws.sipPassword !== undefined)
          console.log(deskPhoneAccount(ws.sipUser, ws.sipPassword, config.SIP_DOMAIN));
        break;
      }
      case 'workstation reset-sip-password': {
        const ws = await workstations.resetSipPassword((await workstationByName()).id, values['sip-user']);
        console.log(`New SIP password for "${ws.name}"; the phone needs it for its next registration.`);
        console.log(deskPhoneAccount(ws.sipUser, ws.sipPassword, config.SIP_DOMAIN));
        break;
      }
      case 'workstation rename': {
        const ws = await workstations.rename((await workstationByName()).id, required(values.to, 'to'));
        console.log(`Renamed workstation to "${ws.name}".`);
        break;
      }
      case 'workstation remove': {
        const { workstation, takenOff } = await agents.removeWorkstation(
          (await workstationByName()).id,
          async (id) => (await users.get(id))?.displayName ?? 'another user',
        );
        const holder = takenOff === undefined ? undefined : await users.get(takenOff);
        console.log(
          `Removed workstation "${workstation.name}"${workstation.sipUser === undefined ? '' : `; the SIP user ${workstation.sipUser} can no longer register`}.`,
        );
        if (takenOff !== undefined) console.log(`${holder?.displayName ?? 'Its user'} was taken off it.`);
        break;
      }
      case 'workstation list': {
        const list = (await workstations.listWithStatus()).map(
          ({ workstation, registered, lastSeenAt, userAgent }) => ({
            ...workstation,
            registered,
            ...(lastSeenAt === undefined ? {} : { lastSeenAt, userAgent }),
          }),
        );
        if (values.json) console.log(JSON.stringify(list));
        else
          for (const ws of list)
            console.log(
              [
                ws.name.padEnd(24),
                ws.kind.padEnd(10),
                (ws.sipUser ?? '').padEnd(12),
                (ws.registered ? 'registered' : 'not registered').padEnd(14),
                `last seen ${ws.lastSeenAt === undefined ? 'never' : new Date(ws.lastSeenAt).toISOString()}`.padEnd(34),
                ws.id,
                ws.userAgent ?? '',
              ]
                .join(' ')
                .trimEnd(),
            );
        break;
      }
      case 'subject list': {
        const list = await subjects.list({ all: true });
        if (values.json) console.log(JSON.stringify(list));
        else for (const s of list) console.log(`${s.name.padEnd(40)} ${s.retired ? 'retired' : 'active '} ${s.id}`);
        break;
      }
      case 'subject create': {
        const subject = await subjects.create({ name: required(values.name, 'name') });
        console.log(`Created subject "${subject.name}" (id ${subject.id}).`);
        break;
      }
      case 'subject rename': {
        const newName = required(values.to, 'to');
        const subject = await subjects.rename(await subjectByName(), newName);
        console.log(`Renamed subject "${values.name}" to "${subject.name}".`);
        break;
      }
      case 'subject retire': {
        const subject = await subjects.retire(await subjectByName());
        console.log(`Retired subject "${subject.name}"; it is no longer offered, and tasks that have it keep it.`);
        break;
      }
      case 'subject restore': {
        const subject = await subjects.restore(await subjectByName());
        console.log(`Restored subject "${subject.name}".`);
        break;
      }
      case 'seed-demo': {
        await subjects.ensureDefaults();
        const result = await seedDemoData(users, workstations);
        if (values.json) console.log(JSON.stringify(result));
        else if (!result.created) console.log('Users exist already; no demo data created.');
        else {
          for (const l of result.logins) console.log(`${l.role.padEnd(9)} ${l.email}  ${l.password}`);
          for (const p of result.deskPhones)
            console.log(
              `desk phone "${p.workstation}":\n${deskPhoneAccount(p.sipUser, p.sipPassword, config.SIP_DOMAIN)}`,
            );
        }
        break;
      }
      case 'outbound-policy show': {
        const policy = await outboundPolicy.get();
        if (values.json) console.log(JSON.stringify({ policy, country: outboundPolicy.country }));
        else console.log(describePolicy(policy, outboundPolicy.country));
        break;
      }
      case 'outbound-policy set': {
        const policy = { ...(await outboundPolicy.get()) };
        if (values.allow !== undefined) policy.allowedPrefixes = listOf(values.allow);
        if (values.deny !== undefined) policy.deniedPrefixes = listOf(values.deny);
        if (values.types !== undefined) {
          const types = listOf(values.types.toUpperCase());
          const unknown = types.find((type) => !(NUMBER_TYPES as readonly string[]).includes(type));
          if (unknown !== undefined)
            throw new UsageError(`Unknown kind of number "${unknown}": one of ${NUMBER_TYPES.join(', ')}.`);
          policy.allowedTypes = types as NumberType[];
        }
        if (values['per-day'] !== undefined) policy.maxCallbacksPerDay = integerOf(values['per-day'], 'per-day');
        if (values['max-seconds'] !== undefined)
          policy.maxDurationSeconds = integerOf(values['max-seconds'], 'max-seconds');
        const saved = await outboundPolicy.set(policy);
        console.log(`Callback policy saved:\n${describePolicy(saved, outboundPolicy.country)}`);
        break;
      }
      case 'outbound-policy reset': {
        const saved = await outboundPolicy.reset();
        console.log(`Callback policy back to the default:\n${describePolicy(saved, outboundPolicy.country)}`);
        break;
      }
      case 'outbound-policy check': {
        const verdict = evaluate(await outboundPolicy.get(), required(values.number, 'number'), outboundPolicy.country);
        if (verdict.allowed)
          console.log(`Allowed: ${verdict.e164} (${NUMBER_TYPE_NAMES[verdict.type]}) can be called back.`);
        else {
          console.log(`Refused: ${verdict.message}`);
          process.exitCode = 1;
        }
        break;
      }
      case 'call-plan show': {
        if (positionals.length > 2) throw new UsageError('deskline call-plan show takes no argument.');
        console.log(JSON.stringify(await new CallPlanStore(redis).get(), null, 2));
        break;
      }
      case 'call-plan set': {
        const file = positionals[2];
        if (file === undefined || positionals.length > 3)
          throw new UsageError('Give one file: deskline call-plan set FILE.json');
        let plan: unknown;
        try {
          plan = JSON.parse(readFileSync(file, 'utf8'));
        } catch (err) {
          throw new Error(`Cannot read a call plan from ${file}: ${(err as Error).message}`);
        }
        const store = new CallPlanStore(redis);
        const problems = await callPlanProblems(plan, {
          timeZone: config.CLINIC_TIME_ZONE,
          previous: await store.get(),
          users,
        });
        if (problems.length > 0)
          throw new Error(`The call plan in ${file} was not saved:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
        await store.put(plan as CallPlan);
        console.log(`Call plan saved from ${file}; the next call follows it.`);
        break;
      }
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } finally {
    redis.disconnect();
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || err instanceof PatientNumberError) {
    console.error(`${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else if (
    err instanceof ConfigError ||
    err instanceof ClientError ||
    err instanceof PolicyError ||
    err instanceof Error
  ) {
    console.error(`deskline: ${err.message}`);
    process.exitCode = 1;
  } else {
    throw err;
  }
}
