/**
 * Registration with a carrier (pbx-config/TRUNKS.md, "Registration with credentials"): Kamailio's uac
 * module registers the clinic's line at the carrier's registrar from a one-row `uacreg` table that
 * the db_text module reads from a directory in Kamailio's run dir. This file writes that directory
 * for the launcher and the tests; deploy/kamailio/start.sh writes the same bytes in the container
 * (tests/integration/deploy/compose.test.ts compares the two).
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TrunkRegistration {
  /** TRUNK_REGISTRAR: where REGISTERs go, "ip:port" ("[ipv6]:port"), over UDP. */
  registrar: string;
  /** TRUNK_DOMAIN: the domain of the Request-URI, To and From (default the registrar's address). */
  domain: string;
  /** TRUNK_USERNAME: the registered user; also the Contact's user, so the R-URI user of the carrier's calls. */
  username: string;
  /** TRUNK_PASSWORD: the digest password. Never logged, never on a command line. */
  password: string;
  /** TRUNK_AUTH_USERNAME: the digest user name (default the username). */
  authUsername: string;
  /** TRUNK_REALM: the digest realm the registrar must challenge with; any when undefined. */
  realm?: string | undefined;
  /** TRUNK_REGISTER_EXPIRES: seconds asked for in each REGISTER (default 300). */
  expires: number;
}

/** The environment variables of a registration; none set means no registration. */
export const TRUNK_REGISTRATION_VARIABLES = [
  'TRUNK_REGISTRAR',
  'TRUNK_DOMAIN',
  'TRUNK_USERNAME',
  'TRUNK_PASSWORD',
  'TRUNK_AUTH_USERNAME',
  'TRUNK_REALM',
  'TRUNK_REGISTER_EXPIRES',
] as const;

/** The directory in Kamailio's run dir that holds the db_text tables `version` and `uacreg`. */
export const REGISTRATION_DB_DIR = 'uacreg';

/** db_text's `version` table: uac checks that `uacreg` has the layout of version 5 (Kamailio 5.6). */
export const UACREG_VERSION_TABLE = 'id(int,auto) table_name(string) table_version(int)\n1:uacreg:5\n';

/**
 * The `uacreg` table's columns: Debian's layout (/usr/share/kamailio/dbtext/kamailio/uacreg) with
 * `null` allowed where Deskline leaves a column empty (db_text refuses an empty field in a column
 * without it, and uac refuses an empty string where it wants none).
 */
export const UACREG_COLUMNS =
  'id(int,auto) l_uuid(string) l_username(string) l_domain(string) r_username(string) r_domain(string) ' +
  'realm(string,null) auth_username(string) auth_password(string,null) auth_ha1(string,null) ' +
  'auth_proxy(string,null) expires(int) flags(int) reg_delay(int) contact_addr(string,null) socket(string,null)';

/**
 * A db_text string field: `\`, `:` (the field separator) and tab are escaped as db_text reads them
 * back (dbt_file.c); spaces need no escape. A line break cannot be written (it ends the row).
 */
export function dbTextField(name: string, value: string): string {
  if (/[\n\r\0]/.test(value)) throw new Error(`${name} must not contain line breaks`);
  return value.replace(/\\/g, '\\\\').replace(/:/g, '\\:').replace(/\t/g, '\\t');
}

/**
 * The `uacreg` table for `registration`: one row. l_uuid (the Contact's user) is the username, so
 * the carrier's calls come to sip:<username>@<Deskline>. auth_proxy is the registrar's address: the
 * REGISTERs go there without a DNS lookup, whatever the domain. contact_addr is left to kamailio.cfg
 * (reg_contact_addr: SIP_ADVERTISE or SIP_LISTEN_HOST, and SIP_PORT).
 */
export function uacregTable(registration: TrunkRegistration): string {
  const f = dbTextField;
  const row = [
    '1',
    f('TRUNK_USERNAME', registration.username),
    f('TRUNK_USERNAME', registration.username),
    f('TRUNK_DOMAIN', registration.domain),
    f('TRUNK_USERNAME', registration.username),
    f('TRUNK_DOMAIN', registration.domain),
    registration.realm ? f('TRUNK_REALM', registration.realm) : '',
    f('TRUNK_AUTH_USERNAME', registration.authUsername),
    f('TRUNK_PASSWORD', registration.password),
    '',
    f('TRUNK_REGISTRAR', `sip:${registration.registrar}`),
    String(registration.expires),
    '0',
    '0',
    '',
    '',
  ];
  return `${UACREG_COLUMNS}\n${row.join(':')}\n`;
}

/**
 * Writes `runDir`/uacreg (mode 700, its files 600: the password is in it) and returns its path;
 * without a registration, removes one left from an earlier start.
 */
export function writeRegistrationDb(runDir: string, registration: TrunkRegistration | undefined): string | undefined {
  const dir = path.join(runDir, REGISTRATION_DB_DIR);
  rmSync(dir, { recursive: true, force: true });
  if (!registration) return undefined;
  const table = uacregTable(registration);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileSync(path.join(dir, 'version'), UACREG_VERSION_TABLE, { mode: 0o600 });
  writeFileSync(path.join(dir, 'uacreg'), table, { mode: 0o600 });
  return dir;
}
