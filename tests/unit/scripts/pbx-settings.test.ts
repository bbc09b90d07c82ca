/**
 * The launcher's PBX settings: the defaults of docs/call-path.md, the checks that stop a bad value
 * before anything starts, and the command lines Kamailio and rtpengine get from them.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  kamailioArgs,
  kamailioEnv,
  kamailioProcessEnv,
  ndbRedisServer,
  type KamailioSettings,
} from '@deskline/scripts/kamailio';
import { LaunchConfigError, readLaunchConfig } from '@deskline/scripts/launch-config';
import { RTPENGINE_CONF, rtpengineArgs } from '@deskline/scripts/rtpengine';
import { serviceDefinitions } from '@deskline/scripts/services';
import { ephemeralSecretFile, sipEphemeralSecret } from '@deskline/scripts/secrets';

function baseSettings(): KamailioSettings {
  return {
    domain: 'deskline.local',
    listenHost: '127.0.0.1',
    sipPort: 5060,
    wsPort: 5066,
    appHost: '127.0.0.1',
    appPort: 5070,
    trunkAddresses: ['127.0.0.1'],
    ephemeralSecret: 'x'.repeat(64),
    redisUrl: 'redis://127.0.0.1:6379',
  };
}

test('the defaults are those of docs/call-path.md', () => {
  const config = readLaunchConfig({});
  assert.equal(config.sip, {
    domain: 'deskline.local',
    listenHost: '127.0.0.1',
    sipPort: 5060,
    wsPort: 5066,
    appHost: '127.0.0.1',
    appPort: 5070,
    trunkAddresses: ['127.0.0.1'],
    wsMaxConnectionsPerAddress: 150,
  });
  assert.throws(() => readLaunchConfig({ WS_MAX_CONNECTIONS_PER_ADDRESS: '0' }), /WS_MAX_CONNECTIONS_PER_ADDRESS/);
  assert.is(readLaunchConfig({ WS_MAX_CONNECTIONS_PER_ADDRESS: '400' }).sip.wsMaxConnectionsPerAddress, 400);
  assert.equal(config.rtpengine, {
    ngHost: '127.0.0.1',
    ngPort: 22222,
    interface: '127.0.0.1',
    portMin: 30000,
    portMax: 30999,
    dtmfPort: 22223,
    redisDb: 1,
  });
});

test("RTPENGINE_REDIS_DB: database 1 by default, off for none, never the apps' database; the launcher gives rtpengine its keyspace in a file only its owner reads, never on its command line", () => {
  assert.is(readLaunchConfig({ RTPENGINE_REDIS_DB: 'off' }).rtpengine.redisDb, undefined);
  assert.is(readLaunchConfig({ RTPENGINE_REDIS_DB: '15' }).rtpengine.redisDb, 15);
  for (const bad of ['0', '16', '-1', '1.5', 'one'])
    assert.throws(() => readLaunchConfig({ RTPENGINE_REDIS_DB: bad }), /RTPENGINE_REDIS_DB/);
  assert.throws(
    () => readLaunchConfig({ REDIS_URL: 'redis://127.0.0.1:6379/2', RTPENGINE_REDIS_DB: '2' }),
    /RTPENGINE_REDIS_DB="2" is invalid/,
  );
  assert.is(readLaunchConfig({ REDIS_URL: 'redis://127.0.0.1:6379/2', RTPENGINE_REDIS_DB: '0' }).rtpengine.redisDb, 0);

  const varDir = mkdtempSync(path.join(os.tmpdir(), 'deskline-rtpengine-keyspace-'));
  const password = 'k'.repeat(40);
  const rtpengineOf = (env: NodeJS.ProcessEnv): readonly string[] => {
    const definition = serviceDefinitions(readLaunchConfig({ DESKLINE_VAR_DIR: varDir, ...env })).find(
      (d) => d.name === 'rtpengine',
    );
    return definition?.prepare().args ?? [];
  };
  const configFile = (args: readonly string[]): string =>
    args.find((a) => a.startsWith('--config-file='))?.slice('--config-file='.length) ?? '';
  try {
    // The launcher's own Redis, with its password.
    const own = rtpengineOf({ REDIS_PASSWORD: password, REDIS_PORT: '6390' });
    assert.not.ok(own.join(' ').includes(password), 'the password is not on the command line');
    const file = configFile(own);
    assert.is(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith(readFileSync(RTPENGINE_CONF, 'utf8').trimEnd()), 'the shared config, then the keyspace');
    assert.match(
      text,
      new RegExp(
        `\\nredis = ${password}@127\\.0\\.0\\.1:6390/1\\nredis-write = ${password}@127\\.0\\.0\\.1:6390/1\\n$`,
      ),
    );
    // A REDIS_URL of the user's, at an IP address.
    assert.match(
      readFileSync(
        configFile(rtpengineOf({ REDIS_URL: `redis://:${password}@127.0.0.2:7000`, RTPENGINE_REDIS_DB: '4' })),
        'utf8',
      ),
      new RegExp(`redis = ${password}@127\\.0\\.0\\.2:7000/4\\n`),
    );
    // None: switched off, behind Sentinel (rtpengine would not follow a failover), or a name rtpengine cannot resolve.
    assert.is(configFile(rtpengineOf({ RTPENGINE_REDIS_DB: 'off' })), RTPENGINE_CONF);
    assert.is(
      configFile(
        rtpengineOf({
          REDIS_URL: `redis://:${password}@127.0.0.1:6379`,
          REDIS_SENTINELS: '127.0.0.1:26379',
          REDIS_SENTINEL_MASTER: 'deskline',
        }),
      ),
      RTPENGINE_CONF,
    );
    assert.is(configFile(rtpengineOf({ REDIS_URL: `redis://:${password}@redis.internal:6379` })), RTPENGINE_CONF);
  } finally {
    rmSync(varDir, { recursive: true, force: true });
  }
});

test('SIP_ADVERTISE (NAT): an IP address given to Kamailio (IPv6 in brackets); an empty one, even inherited, never reaches it', () => {
  const config = readLaunchConfig({ SIP_ADVERTISE: '203.0.113.7' });
  assert.is(config.sip.advertise, '203.0.113.7');
  assert.throws(() => readLaunchConfig({ SIP_ADVERTISE: 'phones.clinic.example' }), /SIP_ADVERTISE/);
  const settings = { ...baseSettings(), advertise: '2001:db8::7' };
  assert.is(kamailioEnv(settings)['SIP_ADVERTISE'], '[2001:db8::7]');
  assert.is(kamailioProcessEnv({ PATH: '/usr/bin' }, settings)['SIP_ADVERTISE'], '[2001:db8::7]');
  const inherited = kamailioProcessEnv({ PATH: '/usr/bin', SIP_ADVERTISE: '' }, baseSettings());
  assert.not.ok('SIP_ADVERTISE' in inherited, 'an empty SIP_ADVERTISE would be #!ifdef-defined as nothing');
  assert.is(inherited['PATH'], '/usr/bin');
});

test('OUTBOUND_TRUNK reaches Kamailio from the settings only: none there, none for Kamailio, even inherited', () => {
  assert.is(kamailioEnv({ ...baseSettings(), outboundTrunk: '192.0.2.10:5060' })['OUTBOUND_TRUNK'], '192.0.2.10:5060');
  assert.not.ok('OUTBOUND_TRUNK' in kamailioEnv(baseSettings()));
  const inherited = kamailioProcessEnv({ PATH: '/usr/bin', OUTBOUND_TRUNK: '198.51.100.1:5060' }, baseSettings());
  assert.not.ok('OUTBOUND_TRUNK' in inherited, 'relaying goes only where the launcher says');
  assert.is(
    kamailioProcessEnv(
      { OUTBOUND_TRUNK: '198.51.100.1:5060' },
      { ...baseSettings(), outboundTrunk: '192.0.2.10:5060' },
    )['OUTBOUND_TRUNK'],
    '192.0.2.10:5060',
  );
});

test("SIP_APP_ADDRESSES reaches Kamailio from the settings only: several instances there, none inherited (an inherited list would make the shell's addresses the sip app)", () => {
  const settings = { ...baseSettings(), appAddresses: ['127.0.0.1:5070', '127.0.0.1:5072'] };
  assert.is(kamailioEnv(settings)['SIP_APP_ADDRESSES'], '127.0.0.1:5070,127.0.0.1:5072');
  assert.not.ok('SIP_APP_ADDRESSES' in kamailioEnv(baseSettings()));
  assert.not.ok(
    'SIP_APP_ADDRESSES' in
      kamailioProcessEnv({ PATH: '/usr/bin', SIP_APP_ADDRESSES: '127.0.0.1:6000' }, baseSettings()),
  );
  assert.throws(() => kamailioEnv({ ...baseSettings(), appAddresses: ['127.0.0.1:5070"'] }), /SIP_APP_ADDRESSES/);
});

test('TRUNK_ADDRESSES takes addresses and subnets, separated by commas', () => {
  const config = readLaunchConfig({ TRUNK_ADDRESSES: '192.0.2.10, 198.51.100.0/24,2001:db8::/32' });
  assert.equal(config.sip.trunkAddresses, ['192.0.2.10', '198.51.100.0/24', '2001:db8::/32']);
});

test('a bad setting is refused with its name and value', () => {
  const cases: Record<string, string>[] = [
    { TRUNK_ADDRESSES: 'carrier.example' },
    { TRUNK_ADDRESSES: '10.0.0.0/33' },
    { TRUNK_ADDRESSES: ',' },
    { SIP_LISTEN_HOST: 'localhost' },
    { SIP_APP_HOST: '::1' },
    { SIP_PORT: '70000' },
    { SIP_DOMAIN: 'bad domain' },
    { RTPENGINE_PORT_MIN: '30001' },
    { RTPENGINE_PORT_MIN: '31000', RTPENGINE_PORT_MAX: '30000' },
    { RTPENGINE_INTERFACE: '10.0.0.1!10.0.0.2!10.0.0.3' },
    { SIP_EPHEMERAL_SECRET: 'too-short' },
    { SIP_EPHEMERAL_SECRET: `${'a'.repeat(40)}"` },
  ];
  for (const env of cases) {
    const name = Object.keys(env)[0] ?? '';
    try {
      readLaunchConfig(env);
      assert.unreachable(`${JSON.stringify(env)} was accepted`);
    } catch (err) {
      assert.instance(err, LaunchConfigError);
      assert.match((err as Error).message, name);
    }
  }
  assert.is(
    readLaunchConfig({ RTPENGINE_INTERFACE: '10.0.0.5!203.0.113.7' }).rtpengine.interface,
    '10.0.0.5!203.0.113.7',
  );
});

test("REDIS_URL becomes ndb_redis's server spec, database and password included", () => {
  assert.is(ndbRedisServer('redis://127.0.0.1:6379'), 'name=deskline;addr=127.0.0.1;port=6379');
  assert.is(ndbRedisServer('redis://redis'), 'name=deskline;addr=redis;port=6379');
  assert.is(
    ndbRedisServer('redis://:s%40cret@10.0.0.5:6380/2'),
    'name=deskline;addr=10.0.0.5;port=6380;db=2;pass=s@cret',
  );
  assert.throws(() => ndbRedisServer('rediss://10.0.0.5:6380'), /redis:\/\//);
});

test('with Sentinel, ndb_redis asks the first sentinel for the master (Kamailio 5.6.3 reads only one right), and the launcher checks the settings', () => {
  const sentinel = { sentinels: ['10.0.0.1:26379', '10.0.0.2:26379', '10.0.0.3:26379'], master: 'deskline' };
  assert.is(
    ndbRedisServer('redis://:s%40cret@10.0.0.9:6379/2', sentinel),
    'name=deskline;sentinel_group=deskline;sentinel_master=1;sentinel=10.0.0.1:26379;db=2;pass=s@cret',
  );
  const env = {
    REDIS_URL: 'redis://:pw@10.0.0.1:6379',
    REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379',
    REDIS_SENTINEL_MASTER: 'deskline',
  };
  assert.equal(readLaunchConfig(env).redisSentinel, {
    sentinels: ['10.0.0.1:26379', '10.0.0.2:26379'],
    master: 'deskline',
  });
  assert.is(readLaunchConfig({}).redisSentinel, undefined);
  for (const [bad, message] of [
    [{ ...env, REDIS_URL: '' }, /REDIS_SENTINELS needs REDIS_URL/],
    [{ ...env, REDIS_SENTINEL_MASTER: '' }, /REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together/],
    [{ ...env, REDIS_SENTINELS: 'sentinel.example:26379' }, /REDIS_SENTINELS="sentinel.example:26379" is invalid/],
    [{ ...env, REDIS_SENTINEL_MASTER: 'a;pass=x' }, /REDIS_SENTINEL_MASTER="a;pass=x" is invalid/],
  ] as const) {
    assert.throws(
      () => readLaunchConfig(bad),
      (err: Error) => err instanceof LaunchConfigError && message.test(err.message),
    );
  }
});

test('Kamailio gets its config and run directory as arguments, every setting in its environment', () => {
  const args = kamailioArgs('/tmp/run');
  assert.match(args[1] ?? '', /pbx-config\/kamailio\/kamailio\.cfg$/);
  assert.equal(args.slice(2), ['-DD', '-E', '-Y', '/tmp/run']);
  const env = kamailioEnv({
    domain: 'clinic.example',
    listenHost: '10.0.0.5',
    sipPort: 5060,
    wsPort: 5066,
    appHost: '127.0.0.1',
    appPort: 5070,
    trunkAddresses: ['192.0.2.10', '198.51.100.0/24'],
    ephemeralSecret: 'x'.repeat(64),
    redisUrl: 'redis://127.0.0.1:6379',
  });
  assert.equal(env, {
    SIP_DOMAIN: 'clinic.example',
    SIP_LISTEN_HOST: '10.0.0.5',
    SIP_PORT: '5060',
    SIP_WS_PORT: '5066',
    SIP_APP_HOST: '127.0.0.1',
    SIP_APP_PORT: '5070',
    TRUNK_ADDRESSES: '192.0.2.10,198.51.100.0/24',
    SIP_EPHEMERAL_SECRET: 'x'.repeat(64),
    REDIS_SERVER: 'name=deskline;addr=127.0.0.1;port=6379',
  });
  assert.ok(!args.some((arg) => arg.includes('x'.repeat(64))), 'the secret is not on the command line');
  const v6 = kamailioEnv({
    ...baseSettings(),
    listenHost: '2001:db8::5',
    workers: 2,
    wsMaxExpires: 60,
    minExpires: 20,
  });
  assert.is(v6.SIP_LISTEN_HOST, '[2001:db8::5]');
  assert.equal([v6.SIP_WORKERS, v6.WS_MAX_EXPIRES, v6.MIN_EXPIRES], ['2', '60', '20']);
  assert.throws(() => kamailioEnv({ ...baseSettings(), domain: 'bad"domain' }), /SIP_DOMAIN/);
});

test("rtpengine gets the shared config file and this installation's flags", () => {
  const args = rtpengineArgs({
    ngHost: '127.0.0.1',
    ngPort: 22222,
    interface: '127.0.0.1',
    portMin: 30000,
    portMax: 30999,
  });
  assert.match(args[0] ?? '', /^--config-file=.*pbx-config\/rtpengine\/rtpengine\.conf$/);
  assert.equal(args.slice(1), [
    '--interface=127.0.0.1',
    '--listen-ng=127.0.0.1:22222',
    '--port-min=30000',
    '--port-max=30999',
  ]);
});

test('the SIP secret is generated once, 64 hex digits readable by its owner only, and then kept', () => {
  const varDir = mkdtempSync(path.join(os.tmpdir(), 'deskline-secret-'));
  try {
    const secret = sipEphemeralSecret({}, varDir);
    assert.match(secret, /^[0-9a-f]{64}$/);
    const file = ephemeralSecretFile(varDir);
    assert.is(statSync(file).mode & 0o777, 0o600);
    assert.is(statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.is(readFileSync(file, 'utf8').trim(), secret);
    assert.is(sipEphemeralSecret({}, varDir), secret, 'the second start reads it back');
    assert.is(
      sipEphemeralSecret({ SIP_EPHEMERAL_SECRET: 'y'.repeat(40) }, varDir),
      'y'.repeat(40),
      'the environment wins',
    );
  } finally {
    rmSync(varDir, { recursive: true, force: true });
  }
});

test.run();
