#!/usr/bin/env node
/**
 * deskline: the command-line tool for clinic IT. It works on the same Redis through the same store
 * classes as the API, so a user created here is the same as one created in the app.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import {
  CONTACT_IMPORT_MAX_BYTES,
  NUMBER_TYPES,
  NUMBER_TYPE_NAMES,
  SUBJECT_CATEGORIES,
  SUBJECT_CATEGORY_NAMES,
  isSubjectCategory,
  isRole,
  setupLinkPath,
  WORKSTATION_KINDS,
  type CredentialSetup,
  type IssuedCredentials,
  type CallPlan,
  type DistributionSettings,
  type NumberType,
  type OutboundPolicy,
  type SubjectCategory,
  type OutcomeSettings,
  type WorkstationKind,
} from '@deskline/protocol';
import { OutboundPolicyStore, PolicyError, evaluate } from '@deskline/outbound-policy';
import { CallPlanStore, ContactStore, DistributionStore, OutcomeSettingsStore } from '@deskline/store';
import { callPlanProblems } from './services/call-plan-check.js';
import { distributionProblems } from './services/distribution-check.js';
import { ConfigError, loadConfig } from './config.js';
import { ContactImportRefused, ContactService } from './services/contact-service.js';
import { ClientError } from './errors.js';
import { AccountService } from './services/account-service.js';
import { AgentService } from './services/agent-service.js';
import { seedDemoData } from './services/demo-data.js';
import { LoginLimiter, loginLimitsFrom } from './services/login-limiter.js';
import { PatientNumberError, forgetPatient } from './services/patient-forget.js';
import { VoicemailService } from './services/voicemail-service.js';
import { Presence } from './services/presence.js';
import { SessionStore } from './services/session-store.js';
import { SetupLinks } from './services/setup-links.js';
import { TeamService } from './services/team-service.js';
import { SubjectStore } from './services/subject-store.js';
import { UserStore } from './services/user-store.js';
import { WorkstationStore } from './services/workstation-store.js';
import { connectRedis, describeRedis, type RedisSettings } from '@deskline/env-config/redis';
import { readSecret } from './read-secret.js';

const USAGE = `Usage: deskline <command> [options]

Commands:
  user create --email E --name "Full Name" --role manager|employee [--setup-link | --generate-password]
                                  create a user; the password is read from stdin or a prompt, or
                                  the user gets a one-time setup link (valid 72 hours) or a
                                  generated password, printed once
  user list [--json]              list users
  user where [--json]             who is logged in (has the app open) and on which workstation
  user set-role --email E --role manager|employee
                                  change a user's role (the last manager cannot be demoted)
  user disable --email E          disable a user and end their sessions
  user enable --email E           enable a disabled user
  user reset-password --email E [--setup-link | --generate-password]
                                  set a new password (stdin or prompt), or void the old one and
                                  print a setup link or a generated password; ends their sessions
  user force-off --email E        take a user off their workstation (e.g. gone home with it
                                  picked): calls skip them at once, and their panel says why
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
  subject list [--json]           list the subjects calls are filed under, by category (information,
                                  visit-booked, visit-not-booked) in their order, retired ones last
  subject create --name N [--category C]
                                  add a subject, last in category C (default information)
  subject move --name N [--category C] [--position P]
                                  put a subject under category C (last), and/or at place P (1 = first)
                                  among its category's subjects in use
  subject rename --name OLD --to NEW
                                  rename a subject; tasks that have it show the new name
  subject retire --name N         stop offering a subject; tasks that have it keep it
  subject restore --name N        offer a retired subject again
  patient forget NUMBER           remove a patient's number from everything Deskline keeps (tasks,
                                  callbacks, call records, statistics, event streams), in any of
                                  the spellings it may be stored under (+49…, 0049…, 49…); prints
                                  what it removed, and the number's contact
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
  outcomes show [--json]          whether Abandoned calls (hung up during the intro) may be called
                                  back (docs/managers.md, "Call outcomes")
  outcomes set --abandoned-callbacks on|off
                                  offer Call back on Abandoned calls too (on), or only on
                                  Unanswered ones (off, the default)
  contact list [--json]           the contacts: numbers (E.164), names and notes
  contact add --number N --name "Name" [--note "…"]
                                  add a contact; N in any spelling CLINIC_COUNTRY reads
  contact edit --number N [--name "Name"] [--note "…"]
                                  change a contact's name or note
  contact delete --number N       delete a contact
  contact import FILE.csv [--dry-run]
                                  add or update the contacts of a CSV file (number,name,note;
                                  UTF-8), all or nothing: a refused line (named by its number)
                                  stores none of the file; --dry-run only says what it would do
  contact export [FILE.csv]       every contact as CSV, to the file or the standard output
  call-plan show                  the call plan in force, as JSON (docs/call-plan.md)
  call-plan set FILE.json         replace the call plan with the one in the file, checked as the
                                  app checks it; nothing is changed when it has problems
  distribution show [--json]      how calls are distributed: ring strategy, fixed order, ring
                                  timeout, wrap-up time, auto-pause (docs/managers.md)
  distribution set [--strategy longest-idle|fixed-order] [--order EMAIL,EMAIL,…]
                   [--wrap-up S] [--auto-pause N] [--ring-timeout S|default]
                                  change the given settings; the next call follows them
                                  (--auto-pause 0 and --wrap-up 0 turn them off; --ring-timeout
                                  default uses the sip app's RING_TIMEOUT_SECONDS)

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

function describeOutcomeSettings(settings: OutcomeSettings): string {
  return settings.abandonedCallbacks
    ? 'Abandoned calls (hung up during the intro): Call back offered, as for Unanswered ones'
    : 'Abandoned calls (hung up during the intro): no Call back; Unanswered ones only';
}

async function describeDistribution(settings: DistributionSettings, users: UserStore): Promise<string> {
  const names: string[] = [];
  for (const userId of settings.fixedOrder) {
    const user = await users.get(userId);
    names.push(user ? `${user.displayName} <${user.email}>` : `${userId} (no such user)`);
  }
  return [
    `Ring strategy: ${settings.strategy}`,
    `Fixed order:   ${names.join(', ') || 'none'}`,
    `Ring timeout:  ${settings.ringTimeoutSeconds === undefined ? "the sip app's RING_TIMEOUT_SECONDS" : `${settings.ringTimeoutSeconds} s`}`,
    `Wrap-up time:  ${settings.wrapUpSeconds === 0 ? 'none' : `${settings.wrapUpSeconds} s`}`,
    `Auto-pause:    ${settings.autoPauseAfter === 0 ? 'off' : `after ${settings.autoPauseAfter} unanswered rings in a row`}`,
  ].join('\n');
}

function categoryOf(value: string): SubjectCategory {
  if (!isSubjectCategory(value)) throw new UsageError(`--category must be one of ${SUBJECT_CATEGORIES.join(', ')}.`);
  return value;
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
      category: { type: 'string' },
      position: { type: 'string' },
      role: { type: 'string' },
      kind: { type: 'string' },
      'sip-user': { type: 'string' },
      allow: { type: 'string' },
      deny: { type: 'string' },
      types: { type: 'string' },
      'per-day': { type: 'string' },
      'max-seconds': { type: 'string' },
      number: { type: 'string' },
      'abandoned-callbacks': { type: 'string' },
      note: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      strategy: { type: 'string' },
      order: { type: 'string' },
      'wrap-up': { type: 'string' },
      'auto-pause': { type: 'string' },
      'ring-timeout': { type: 'string' },
      json: { type: 'boolean', default: false },
      'setup-link': { type: 'boolean', default: false },
      'generate-password': { type: 'boolean', default: false },
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
    const accounts = new AccountService(users, sessions, agents, limiter, new SetupLinks(redis));
    const workstationByName = async () => {
      const name = required(values.name, 'name');
      const found = await workstations.findByName(name);
      if (!found) throw new ClientError(404, `No workstation named "${name}".`);
      return found;
    };
    /** --setup-link or --generate-password, or undefined for a password typed in. */
    const setup = (): CredentialSetup | undefined => {
      if (values['setup-link'] && values['generate-password'])
        throw new UsageError('Give --setup-link or --generate-password, not both.');
      return values['setup-link'] ? 'link' : values['generate-password'] ? 'password' : undefined;
    };
    const origin = config.PUBLIC_ORIGIN ?? `http://${config.HOST}:${config.PORT}`;
    const printIssued = (email: string, issued: IssuedCredentials): void => {
      if (issued.setupToken !== undefined && issued.setupExpiresAt !== undefined)
        console.log(
          `Setup link for ${email} (once, until ${new Date(issued.setupExpiresAt).toISOString()}):\n  ${origin}${setupLinkPath(issued.setupToken)}`,
        );
      if (issued.password !== undefined) console.log(`Password for ${email}, shown this once:\n  ${issued.password}`);
    };
    const userByEmail = async (): Promise<string> => {
      const email = required(values.email, 'email');
      const user = await users.findByEmail(email);
      if (!user) throw new ClientError(404, `No user with the email ${email}.`);
      return user.id;
    };

    const contacts = new ContactService(new ContactStore(redis), config.CLINIC_COUNTRY);
    // `patient forget`, `call-plan set`, `contact import` and `contact export` take an argument.
    const verb = ['patient', 'call-plan', 'contact'].includes(positionals[0] ?? '')
      ? positionals.slice(0, 2).join(' ')
      : command;
    switch (verb) {
      case 'patient forget': {
        const number = positionals[2];
        if (!number || positionals.length > 3) throw new UsageError('Give one number: deskline patient forget NUMBER');
        const report = await forgetPatient(redis, number, new VoicemailService(redis, config.RECORDINGS_DIR), contacts);
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
        const how = setup();
        const password = how === undefined ? await readSecret(`Password for ${email}: `) : undefined;
        const user = await accounts.create({
          email,
          displayName,
          role,
          ...(password === undefined ? {} : { password }),
          ...(how === undefined ? {} : { setup: how }),
        });
        console.log(`Created ${user.role} ${user.displayName} <${user.email}> (id ${user.id}).`);
        printIssued(user.email, user);
        break;
      }
      case 'user where': {
        const team = await new TeamService(
          redis,
          workstations,
          new Presence(redis, 'deskline-cli', config.PRESENCE_HEARTBEAT_SECONDS * 3000),
        ).list();
        if (values.json) console.log(JSON.stringify(team));
        else
          for (const m of team)
            console.log(
              `${m.displayName.padEnd(24)} ${(m.online ? 'logged in' : 'away').padEnd(10)} ${m.state.padEnd(9)} ${m.workstation?.name ?? ''}`,
            );
        break;
      }
      case 'user set-role': {
        const role = required(values.role, 'role');
        if (!isRole(role)) throw new UsageError('--role must be manager or employee.');
        const user = await accounts.setRole(await userByEmail(), role);
        console.log(`${user.email} is now ${user.role === 'manager' ? 'a manager' : 'an employee'}.`);
        break;
      }
      case 'user force-off': {
        await accounts.forceOff(await userByEmail(), 'clinic IT (command line)');
        console.log(`${values.email} is off their workstation; calls skip them from now on.`);
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
        const how = setup();
        if (how === undefined) {
          await accounts.resetPassword(id, await readSecret(`New password for ${values.email}: `));
          console.log(`Password changed for ${values.email}; their sessions have ended.`);
        } else {
          const issued = await accounts.resetCredentials(id, how);
          console.log(`The old password of ${values.email} no longer works; their sessions have ended.`);
          printIssued(values.email ?? '', issued);
        }
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
        else
          for (const s of list)
            console.log(
              `${SUBJECT_CATEGORY_NAMES[s.category].padEnd(17)} ${s.name.padEnd(40)} ${s.retired ? 'retired' : 'active '} ${s.id}`,
            );
        break;
      }
      case 'subject create': {
        const category = values.category === undefined ? undefined : categoryOf(values.category);
        const subject = await subjects.create({ name: required(values.name, 'name'), category });
        console.log(
          `Created subject "${subject.name}" under ${SUBJECT_CATEGORY_NAMES[subject.category]} (id ${subject.id}).`,
        );
        break;
      }
      case 'subject move': {
        if (values.category === undefined && values.position === undefined)
          throw new UsageError('Give --category, --position or both.');
        const id = await subjectByName();
        let subject =
          values.category === undefined
            ? await subjects.require(id)
            : await subjects.move(id, categoryOf(values.category));
        if (values.position !== undefined) {
          const position = integerOf(values.position, 'position');
          if (subject.retired)
            throw new UsageError(`"${subject.name}" is retired: restore it before giving it a place.`);
          const others = (await subjects.list())
            .filter((s) => s.category === subject.category && s.id !== subject.id)
            .map((s) => s.id);
          if (position < 1 || position > others.length + 1)
            throw new UsageError(
              `--position must be 1 to ${others.length + 1} in ${SUBJECT_CATEGORY_NAMES[subject.category]}.`,
            );
          others.splice(position - 1, 0, subject.id);
          await subjects.reorder(subject.category, others);
          subject = (await subjects.get(subject.id)) ?? subject;
        }
        const place = (await subjects.list())
          .filter((s) => s.category === subject.category)
          .findIndex((s) => s.id === subject.id);
        console.log(
          `"${subject.name}" is under ${SUBJECT_CATEGORY_NAMES[subject.category]}` +
            (place < 0 ? ' (retired).' : `, place ${place + 1}.`),
        );
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
      case 'outcomes show': {
        const settings = await new OutcomeSettingsStore(redis).get();
        if (values.json) console.log(JSON.stringify(settings));
        else console.log(describeOutcomeSettings(settings));
        break;
      }
      case 'outcomes set': {
        const value = required(values['abandoned-callbacks'], 'abandoned-callbacks');
        if (value !== 'on' && value !== 'off')
          throw new UsageError(`--abandoned-callbacks takes on or off, not "${value}".`);
        const saved = await new OutcomeSettingsStore(redis).set({ abandonedCallbacks: value === 'on' });
        console.log(`Call outcomes saved:\n${describeOutcomeSettings(saved)}`);
        break;
      }
      case 'contact list': {
        const list = await contacts.list();
        if (values.json) console.log(JSON.stringify(list));
        else for (const c of list) console.log(`${c.number.padEnd(17)} ${c.name}${c.note ? `  (${c.note})` : ''}`);
        break;
      }
      case 'contact add': {
        const contact = await contacts.create({
          number: required(values.number, 'number'),
          name: required(values.name, 'name'),
          ...(values.note !== undefined ? { note: values.note } : {}),
        });
        console.log(`Added contact ${contact.number}: ${contact.name}.`);
        break;
      }
      case 'contact edit': {
        if (values.name === undefined && values.note === undefined) throw new UsageError('Give --name or --note.');
        const contact = await contacts.update(required(values.number, 'number'), {
          ...(values.name !== undefined ? { name: values.name } : {}),
          ...(values.note !== undefined ? { note: values.note } : {}),
        });
        console.log(`Changed contact ${contact.number}: ${contact.name}${contact.note ? ` (${contact.note})` : ''}.`);
        break;
      }
      case 'contact delete': {
        const number = required(values.number, 'number');
        await contacts.delete(number);
        console.log(`Deleted contact ${contacts.normalize(number) ?? number}.`);
        break;
      }
      case 'contact import': {
        const file = positionals[2];
        if (file === undefined || positionals.length > 3)
          throw new UsageError('Give one file: deskline contact import FILE.csv [--dry-run]');
        let bytes: Buffer;
        try {
          bytes = readFileSync(file);
        } catch (err) {
          throw new Error(`Cannot read ${file}: ${(err as Error).message}`);
        }
        if (bytes.length > CONTACT_IMPORT_MAX_BYTES)
          throw new Error(`${file} is larger than ${CONTACT_IMPORT_MAX_BYTES / 1024 / 1024} MB: split it.`);
        const dryRun = values['dry-run'];
        try {
          const result = await contacts.import(bytes, { dryRun });
          const counts = `${result.added} new, ${result.updated} changed, ${result.unchanged} unchanged`;
          console.log(dryRun ? `Would import ${file}: ${counts}.` : `Imported ${file}: ${counts}.`);
          for (const p of result.problems) console.log(`  line ${p.line}: ${p.message}`);
          if (result.problems.length > 0) process.exitCode = 1;
        } catch (err) {
          if (!(err instanceof ContactImportRefused)) throw err;
          const lines = err.result.problems.map((p) => `  line ${p.line}: ${p.message}`).join('\n');
          throw new Error(`${err.message}\n${lines}`);
        }
        break;
      }
      case 'contact export': {
        const file = positionals[2];
        if (positionals.length > 3) throw new UsageError('Give at most one file: deskline contact export [FILE.csv]');
        const csv = await contacts.export();
        if (file === undefined) process.stdout.write(csv);
        else {
          writeFileSync(file, csv, { mode: 0o600 });
          console.log(`Exported ${(await contacts.list()).length} contact(s) to ${file}.`);
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
      case 'distribution show': {
        const settings = await new DistributionStore(redis).get();
        if (values.json) console.log(JSON.stringify(settings));
        else console.log(await describeDistribution(settings, users));
        break;
      }
      case 'distribution set': {
        const store = new DistributionStore(redis);
        const settings: Record<string, unknown> = { ...(await store.get()) };
        if (values.strategy !== undefined) settings['strategy'] = values.strategy;
        if (values.order !== undefined) {
          const order: string[] = [];
          for (const email of listOf(values.order)) {
            const user = await users.findByEmail(email);
            if (!user) throw new ClientError(404, `No user with the email ${email}.`);
            order.push(user.id);
          }
          settings['fixedOrder'] = order;
        }
        if (values['wrap-up'] !== undefined) settings['wrapUpSeconds'] = integerOf(values['wrap-up'], 'wrap-up');
        if (values['auto-pause'] !== undefined)
          settings['autoPauseAfter'] = integerOf(values['auto-pause'], 'auto-pause');
        const ringTimeout = values['ring-timeout'];
        if (ringTimeout === 'default') delete settings['ringTimeoutSeconds'];
        else if (ringTimeout !== undefined) settings['ringTimeoutSeconds'] = integerOf(ringTimeout, 'ring-timeout');
        const problems = await distributionProblems(settings, users);
        if (problems.length > 0)
          throw new Error(`The distribution settings were not saved:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
        await store.put(settings as DistributionSettings);
        console.log(
          `Distribution settings saved; the next call follows them:\n${await describeDistribution(settings as DistributionSettings, users)}`,
        );
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
