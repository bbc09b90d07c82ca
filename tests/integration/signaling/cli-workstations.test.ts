/**
 * `deskline workstation rename|remove|list` (issue 16, item 2) against a real Redis and Kamailio: what
 * the manager's screen and the API do, from the command line. The CLI has no roles: it runs inside the
 * signaling container, so whoever may run it is the clinic's administrator (docs/operations.md).
 */
import { Redis } from 'ioredis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentRecord, RedisKeys } from '@deskline/store';
import { runCli } from '../../helpers/cli.js';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { SipUdpEndpoint } from '../../helpers/sip-endpoint.js';
import { registerDeskPhone } from '../../helpers/sip-register.js';
import { waitFor } from '../../helpers/wait.js';

const PHONE_UA = 'Grandstream GXP1625 1.0.7.13';

let redis: TestRedis;
let kamailio: TestKamailio;
let db: Redis;
let env: NodeJS.ProcessEnv;
let phone: SipUdpEndpoint;

test.before(async () => {
  redis = await startTestRedis();
  kamailio = await startTestKamailio({ redisUrl: redis.url });
  db = new Redis(redis.url);
  env = { REDIS_URL: redis.url, SIP_DOMAIN: kamailio.domain };
  phone = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort);
});

test.after(async () => {
  await phone.close();
  db.disconnect();
  await kamailio.stop();
  await redis.stop();
});

async function cli(...args: string[]) {
  const result = await runCli(args, env);
  return { ...result, output: result.stdout + result.stderr };
}

const registerAs = (sipUser: string, password: string) =>
  registerDeskPhone({ registrar: kamailio, sipUser, password }, { endpoint: phone, userAgent: PHONE_UA });

test('workstation list shows registration, last seen and user agent; rename keeps the SIP account; remove revokes it', async () => {
  const created = await cli(
    'workstation',
    'create',
    '--name',
    'Front desk phone',
    '--kind',
    'sip-phone',
    '--sip-user',
    '201',
  );
  assert.is(created.code, 0, created.output);
  const password = /SIP password: (\S+)/.exec(created.stdout)?.[1] ?? '';

  const never = await cli('workstation', 'list');
  assert.match(never.stdout, /^Front desk phone\s+sip-phone\s+201\s+not registered\s+last seen never\s+\S+$/m);

  assert.is(await registerAs('201', password), 200);
  const listed = await cli('workstation', 'list');
  assert.match(
    listed.stdout,
    new RegExp(
      `^Front desk phone\\s+sip-phone\\s+201\\s+registered\\s+last seen \\d{4}-\\d\\d-\\d\\dT\\S+\\s+\\S+ ${PHONE_UA}$`,
      'm',
    ),
  );
  const json = JSON.parse((await cli('workstation', 'list', '--json')).stdout) as Array<Record<string, unknown>>;
  assert.is(json[0]?.['registered'], true);
  assert.is(json[0]?.['userAgent'], PHONE_UA);
  assert.type(json[0]?.['lastSeenAt'], 'number');

  const renamed = await cli('workstation', 'rename', '--name', 'front desk phone', '--to', 'Reception phone');
  assert.is(renamed.code, 0, renamed.output);
  assert.is(renamed.stdout.trim(), 'Renamed workstation to "Reception phone".');
  assert.is(await registerAs('201', password), 200, 'the same SIP account still registers');

  const removed = await cli('workstation', 'remove', '--name', 'Reception phone');
  assert.is(removed.code, 0, removed.output);
  assert.is(removed.stdout.trim(), 'Removed workstation "Reception phone"; the SIP user 201 can no longer register.');
  await waitFor(
    'the registration of 201 dropped',
    async () => (await db.exists(RedisKeys.sipRegistration('201'))) === 0,
  );
  assert.is(await registerAs('201', password), 401, 'Kamailio refuses the old password');
  assert.is((await cli('workstation', 'list')).stdout, '');
});

test('remove takes the user on it off, but not during a call; bad names, duplicates and unknown names fail with a message', async () => {
  assert.is((await cli('workstation', 'create', '--name', 'Reception 1')).code, 0);
  assert.is((await cli('workstation', 'create', '--name', 'Reception 2')).code, 0);
  const ws = JSON.parse((await cli('workstation', 'list', '--json')).stdout) as Array<{ id: string; name: string }>;
  const reception1 = ws.find((w) => w.name === 'Reception 1')?.id ?? '';
  const created = await runCli(
    ['user', 'create', '--email', 'anna@clinic.example', '--name', 'Anna Reception', '--role', 'employee'],
    env,
    'anna has a long password\n',
  );
  assert.is(created.code, 0, created.stderr);
  const users = JSON.parse((await cli('user', 'list', '--json')).stdout) as Array<{ id: string }>;
  const annaId = users[0]?.id ?? '';
  // Anna picks Reception 1, as signaling's pick does, and a call rings her there.
  assert.is((await new AgentRecord(db).pick(annaId, reception1)).outcome, 'picked');
  await db.hset(RedisKeys.agent(annaId), 'state', 'ringing', 'callId', 'call-1');

  const refused = await cli('workstation', 'remove', '--name', 'Reception 1');
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /Anna Reception is on a call at Reception 1; remove it after the call\./);
  assert.is(await db.get(RedisKeys.workstationHolder(reception1)), annaId);

  await db.hdel(RedisKeys.agent(annaId), 'callId');
  await db.hset(RedisKeys.agent(annaId), 'state', 'available');
  const removed = await cli('workstation', 'remove', '--name', 'Reception 1');
  assert.is(removed.code, 0, removed.output);
  assert.is(removed.stdout, 'Removed workstation "Reception 1".\nAnna Reception was taken off it.\n');
  assert.is(await db.hget(RedisKeys.agent(annaId), 'workstationId'), null);
  assert.is(await db.exists(RedisKeys.workstationHolder(reception1)), 0);
  assert.is(await db.zscore(RedisKeys.idleAgents, annaId), null);

  const duplicate = await cli('workstation', 'rename', '--name', 'Reception 2', '--to', 'RECEPTION 2 ');
  assert.is(duplicate.code, 0, 'a change of case of its own name');
  assert.is((await cli('workstation', 'create', '--name', 'Reception 3')).code, 0);
  const taken = await cli('workstation', 'rename', '--name', 'Reception 3', '--to', 'reception 2');
  assert.is(taken.code, 1);
  assert.match(taken.stderr, /A workstation named "reception 2" already exists\./);
  const blank = await cli('workstation', 'rename', '--name', 'Reception 3', '--to', '   ');
  assert.is(blank.code, 1);
  assert.match(blank.stderr, /The name must be 1 to 60 characters long\./);
  const unknown = await cli('workstation', 'remove', '--name', 'Nowhere');
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /No workstation named "Nowhere"/);
  assert.is((await cli('workstation', 'remove')).code, 2, 'no --name');
  assert.is((await cli('workstation', 'rename', '--name', 'Reception 3')).code, 2, 'no --to');
});

test.run();
