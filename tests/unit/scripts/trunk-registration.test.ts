/**
 * The carrier registration's settings (TRUNK_REGISTRAR …) and the db_text table the launcher writes
 * for Kamailio's uac module: defaults, checks, db_text's escaping, the file modes, and the variables
 * Kamailio gets. (deploy/kamailio/start.sh writes the same table: tests/integration/deploy.)
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kamailioEnv, kamailioProcessEnv, type KamailioSettings } from '@deskline/scripts/kamailio';
import { LaunchConfigError, readLaunchConfig, readTrunkRegistration } from '@deskline/scripts/launch-config';
import { serviceDefinitions } from '@deskline/scripts/services';
import {
  UACREG_COLUMNS,
  UACREG_VERSION_TABLE,
  dbTextField,
  uacregTable,
  writeRegistrationDb,
  type TrunkRegistration,
} from '@deskline/scripts/trunk-registration';

const REQUIRED = { TRUNK_REGISTRAR: '203.0.113.10:5060', TRUNK_USERNAME: '4930123456', TRUNK_PASSWORD: 'secret-pw' };

const tmp = mkdtempSync(path.join(os.tmpdir(), 'deskline-uacreg-unit-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function registration(extra: Partial<TrunkRegistration> = {}): TrunkRegistration {
  return {
    registrar: '203.0.113.10:5060',
    domain: 'sip.carrier.example',
    username: '4930123456',
    password: 'secret-pw',
    authUsername: '4930123456',
    expires: 300,
    ...extra,
  };
}

function settings(extra: Partial<KamailioSettings> = {}): KamailioSettings {
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
    ...extra,
  };
}

test('no TRUNK_ variable set: no registration (TRUNK_ADDRESSES is not one of them)', () => {
  assert.is(readTrunkRegistration({}), undefined);
  assert.is(
    readTrunkRegistration({ TRUNK_ADDRESSES: '192.0.2.1', TRUNK_REGISTRAR: '', TRUNK_PASSWORD: '' }),
    undefined,
  );
  assert.is(readLaunchConfig({}).sip.registration, undefined);
});

test('the defaults: the auth user name is the user name, the domain the registrar, 300 s, port 5060', () => {
  assert.equal(readTrunkRegistration({ ...REQUIRED, TRUNK_REGISTRAR: '203.0.113.10' }), {
    registrar: '203.0.113.10:5060',
    domain: '203.0.113.10:5060',
    username: '4930123456',
    password: 'secret-pw',
    authUsername: '4930123456',
    expires: 300,
  });
  assert.is(
    readTrunkRegistration({ ...REQUIRED, TRUNK_REGISTRAR: '[2001:db8::10]' })?.registrar,
    '[2001:db8::10]:5060',
  );
  assert.is(
    readTrunkRegistration({ ...REQUIRED, TRUNK_REGISTRAR: '[2001:db8::10]:5080' })?.registrar,
    '[2001:db8::10]:5080',
  );
  const all = readLaunchConfig({
    ...REQUIRED,
    TRUNK_DOMAIN: 'sip.carrier.example',
    TRUNK_AUTH_USERNAME: 'clinic@carrier',
    TRUNK_REALM: 'Carrier Realm',
    TRUNK_REGISTER_EXPIRES: '600',
  }).sip.registration;
  assert.equal(all, {
    registrar: '203.0.113.10:5060',
    domain: 'sip.carrier.example',
    username: '4930123456',
    password: 'secret-pw',
    authUsername: 'clinic@carrier',
    realm: 'Carrier Realm',
    expires: 600,
  });
});

test('a bad or incomplete registration is refused naming the variable, and never showing the password', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ TRUNK_USERNAME: '4930123456', TRUNK_PASSWORD: 'secret-pw' }, /TRUNK_REGISTRAR is not set/],
    [{ ...REQUIRED, TRUNK_PASSWORD: '' }, /TRUNK_PASSWORD is not set/],
    [{ ...REQUIRED, TRUNK_USERNAME: '' }, /TRUNK_USERNAME is not set/],
    [{ ...REQUIRED, TRUNK_REGISTRAR: 'sip.carrier.example:5060' }, /TRUNK_REGISTRAR=.*resolves no names/],
    [{ ...REQUIRED, TRUNK_REGISTRAR: '203.0.113.300:5060' }, /TRUNK_REGISTRAR/],
    [{ ...REQUIRED, TRUNK_REGISTRAR: '203.0.113.10:70000' }, /TRUNK_REGISTRAR/],
    [{ ...REQUIRED, TRUNK_USERNAME: '49 30' }, /TRUNK_USERNAME/],
    [{ ...REQUIRED, TRUNK_USERNAME: 'a@b' }, /TRUNK_USERNAME/],
    [{ ...REQUIRED, TRUNK_AUTH_USERNAME: 'a"b' }, /TRUNK_AUTH_USERNAME/],
    [{ ...REQUIRED, TRUNK_REALM: 'a\\b' }, /TRUNK_REALM/],
    [{ ...REQUIRED, TRUNK_DOMAIN: 'sip carrier' }, /TRUNK_DOMAIN/],
    [{ ...REQUIRED, TRUNK_REGISTER_EXPIRES: '5' }, /TRUNK_REGISTER_EXPIRES/],
    [{ ...REQUIRED, TRUNK_REGISTER_EXPIRES: '1h' }, /TRUNK_REGISTER_EXPIRES/],
    [{ ...REQUIRED, TRUNK_PASSWORD: 'line\nbreak' }, /TRUNK_PASSWORD is invalid: it must not contain line breaks/],
  ];
  for (const [env, pattern] of cases) {
    try {
      readLaunchConfig(env);
      assert.unreachable(`accepted ${JSON.stringify({ ...env, TRUNK_PASSWORD: '…' })}`);
    } catch (err) {
      assert.instance(err, LaunchConfigError);
      assert.match((err as Error).message, pattern);
      if (env['TRUNK_PASSWORD'])
        assert.not.ok((err as Error).message.includes(env['TRUNK_PASSWORD']), 'the password is not in the message');
    }
  }
});

test('db_text fields: \\ : and tab are escaped as db_text reads them, spaces are kept, line breaks refused', () => {
  assert.is(dbTextField('X', 'plain'), 'plain');
  assert.is(dbTextField('X', 'a:b'), 'a\\:b');
  assert.is(dbTextField('X', 'back\\slash'), 'back\\\\slash');
  assert.is(dbTextField('X', 'with space'), 'with space');
  assert.is(dbTextField('X', 'tab\there'), 'tab\\there');
  assert.is(dbTextField('X', '\\:'), '\\\\\\:');
  for (const bad of ['a\nb', 'a\rb', 'a\0b'])
    assert.throws(() => dbTextField('TRUNK_PASSWORD', bad), /TRUNK_PASSWORD must not contain line breaks/);
});

test("the uacreg table: Debian's columns in Debian's order, one row; empty columns are null", () => {
  const debian = readFileSync('/usr/share/kamailio/dbtext/kamailio/uacreg', 'utf8').split('\n')[0] ?? '';
  const names = (line: string): string[] =>
    line
      .trim()
      .split(/\s+/)
      .map((c) => c.replace(/\(.*$/, ''));
  assert.equal(names(UACREG_COLUMNS), names(debian));
  assert.match(readFileSync('/usr/share/kamailio/dbtext/kamailio/version', 'utf8'), /^\d+:uacreg:5$/m);
  assert.match(UACREG_VERSION_TABLE, /^1:uacreg:5$/m);

  assert.is(
    uacregTable(
      registration({ password: 'pa:ss w\\rd', authUsername: 'clinic:x', realm: 'carrier.example', expires: 120 }),
    ),
    `${UACREG_COLUMNS}\n` +
      '1:4930123456:4930123456:sip.carrier.example:4930123456:sip.carrier.example:carrier.example:clinic\\:x:pa\\:ss w\\\\rd::' +
      'sip\\:203.0.113.10\\:5060:120:0:0::\n',
  );
  const noRealm = uacregTable(registration()).split('\n')[1] ?? '';
  assert.is(noRealm.split(/(?<!\\):/)[6], '', 'no realm: null, any realm the registrar names');
  assert.is(noRealm.split(/(?<!\\):/).length, 16);
  assert.throws(() => uacregTable(registration({ password: 'a\nb' })), /TRUNK_PASSWORD/);
});

test('writeRegistrationDb: a 700 directory with 600 files in the run dir; without a registration it removes an old one', () => {
  const runDir = path.join(tmp, 'run');
  const dir = writeRegistrationDb(runDir, registration());
  assert.is(dir, path.join(runDir, 'uacreg'));
  assert.is(statSync(dir ?? '').mode & 0o777, 0o700);
  for (const file of ['version', 'uacreg']) assert.is(statSync(path.join(dir ?? '', file)).mode & 0o777, 0o600);
  assert.is(readFileSync(path.join(dir ?? '', 'uacreg'), 'utf8'), uacregTable(registration()));
  assert.is(readFileSync(path.join(dir ?? '', 'version'), 'utf8'), UACREG_VERSION_TABLE);
  assert.is(writeRegistrationDb(runDir, undefined), undefined);
  assert.throws(() => statSync(path.join(runDir, 'uacreg')), /ENOENT/);
});

test("Kamailio gets TRUNK_REGISTRATION_DB (and the interval when given), never the registration's own variables", () => {
  const runDir = path.join(tmp, 'run2');
  assert.throws(() => kamailioEnv(settings({ registration: registration() })), /run dir/);
  const env = kamailioEnv(settings({ registration: registration(), registerInterval: 2 }), runDir);
  assert.is(env['TRUNK_REGISTRATION_DB'], `text://${path.join(runDir, 'uacreg')}`);
  assert.is(env['TRUNK_REGISTER_INTERVAL'], '2');
  assert.not.ok('TRUNK_REGISTRATION_DB' in kamailioEnv(settings(), runDir));
  const inherited = {
    PATH: '/usr/bin',
    ...REQUIRED,
    TRUNK_REALM: 'r',
    TRUNK_REGISTRATION_DB: 'text:///somewhere/else',
  };
  const without = kamailioProcessEnv(inherited, settings(), runDir);
  for (const name of ['TRUNK_REGISTRAR', 'TRUNK_USERNAME', 'TRUNK_PASSWORD', 'TRUNK_REALM', 'TRUNK_REGISTRATION_DB'])
    assert.not.ok(name in without, name);
  const withIt = kamailioProcessEnv(inherited, settings({ registration: registration() }), runDir);
  assert.is(withIt['TRUNK_REGISTRATION_DB'], `text://${path.join(runDir, 'uacreg')}`);
  assert.not.ok(Object.values(withIt).includes('secret-pw'), 'the password is only in the table');
  assert.is(withIt['PATH'], '/usr/bin');
});

test('npm start: the launcher writes the table into var/run/kamailio before Kamailio starts, and removes it when the settings go', () => {
  const varDir = path.join(tmp, 'var');
  const kamailio = (env: NodeJS.ProcessEnv) =>
    serviceDefinitions(
      readLaunchConfig({ DESKLINE_VAR_DIR: varDir, SIP_EPHEMERAL_SECRET: 'e'.repeat(64), ...env }),
    ).find((d) => d.name === 'kamailio');
  const prepared = kamailio({ ...REQUIRED, TRUNK_PASSWORD: 'pa:ss' })?.prepare();
  const table = path.join(varDir, 'run', 'kamailio', 'uacreg', 'uacreg');
  assert.match(readFileSync(table, 'utf8'), ':pa\\:ss::sip\\:203.0.113.10\\:5060:300:');
  assert.is(statSync(table).mode & 0o777, 0o600);
  assert.is(prepared?.env?.['TRUNK_REGISTRATION_DB'], `text://${path.dirname(table)}`);
  assert.not.ok(prepared?.env && 'TRUNK_PASSWORD' in prepared.env, "the password is not in Kamailio's environment");
  const without = kamailio({})?.prepare();
  assert.not.ok(without?.env && 'TRUNK_REGISTRATION_DB' in without.env);
  assert.throws(() => statSync(table), /ENOENT/);
});

test.run();
