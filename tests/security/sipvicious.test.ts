/**
 * The attacker's own tools (Debian's sipvicious 0.3: svmap, svwar, svcrack) against a real Kamailio
 * with demo-like data: desk phone 201 with its password stored as HA1 in Redis, and a browser
 * registered as ws-*. They run from 127.0.0.2, which is no trunk, with the User-Agent of a desk phone
 * instead of their own "friendly-scanner" (so REQINIT's scanner filter does not save us), and must
 * learn nothing: no extension, no password, and the address is blocked (pike) within a measured
 * number of requests. docs/security.md, "SIP: credentials, Kamailio and scanners", says what a
 * clinic should expect from such a scan.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { RedisKeys } from '@deskline/store';
import { startTestKamailio, type TestKamailio } from '../helpers/kamailio.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { phoneHa1, register } from '../helpers/sip-register.js';
import { SipWsEndpoint } from '../helpers/sip-ws.js';

const ATTACKER = '127.0.0.2';
/** A desk phone's User-Agent: nothing a scanner filter could tell from a real phone. */
const DISGUISE = 'Yealink SIP-T46S 66.86.0.15';
const PHONE_PASSWORD = `Desk-201-${randomBytes(9).toString('base64url')}`;

/**
 * sipvicious 0.3.3 as an attacker would patch it: its User-Agent replaced, and every socket it binds
 * to "any" address bound to ATTACKER instead (svwar ignores its own -b). Arguments: tool, then its own.
 */
const WRAPPER = [
  'import sys, socket, importlib',
  "sys.path.insert(0, '/usr/share/sipvicious')",
  '_bind = socket.socket.bind',
  `socket.socket.bind = lambda self, addr: _bind(self, ('${ATTACKER}',) + tuple(addr[1:]) if addr[0] in ('', '0.0.0.0') else addr)`,
  'import sipvicious.libs.svhelper as helper',
  'defaults = list(helper.makeRequest.__defaults__)',
  `defaults[defaults.index('friendly-scanner')] = '${DISGUISE}'`,
  'helper.makeRequest.__defaults__ = tuple(defaults)',
  'tool = importlib.import_module("sipvicious." + sys.argv.pop(1))',
  "sys.argv[0] = 'sipvicious'",
  'tool.main()',
].join('\n');

let redis: TestRedis;
let db: Redis;
let kamailio: TestKamailio;
let browser: SipWsEndpoint;
let tmp: string;

test.before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'deskline-sipvicious-'));
  redis = await startTestRedis();
  db = new Redis(redis.url);
  kamailio = await startTestKamailio({ redisUrl: redis.url });
  await db.hset(RedisKeys.sipCredentials, '201', phoneHa1('201', kamailio.domain, PHONE_PASSWORD));
  browser = await SipWsEndpoint.connect(kamailio.wsUrl);
  const { response } = await register(browser, {
    user: 'ws-reception-1',
    domain: kamailio.domain,
    ...(await kamailio.browserCredentials('ws-reception-1')),
    contact: browser.contact('ws-reception-1'),
    expires: 120,
  });
  assert.is(response.status, 200);
});

test.after(async () => {
  await browser?.terminate();
  await kamailio?.stop();
  db?.disconnect();
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

interface ToolRun {
  code: number | null;
  output: string;
}

function sipvicious(tool: 'svmap' | 'svwar' | 'svcrack', args: string[], timeoutMs = 60_000): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', WRAPPER, tool, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: tmp,
      env: { ...process.env, HOME: tmp },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * A UDP hop between the tool and Kamailio, from ATTACKER's address: it counts the requests and the
 * answers, so the test can say after how many requests and how long Kamailio stopped answering.
 */
async function countingHop(): Promise<{
  port: number;
  requests: number;
  answers: number;
  firstAt: number;
  lastAnswerAt: number;
  close: () => void;
}> {
  const toolSide = dgram.createSocket('udp4');
  const kamailioSide = dgram.createSocket('udp4');
  const stats = {
    port: 0,
    requests: 0,
    answers: 0,
    firstAt: 0,
    lastAnswerAt: 0,
    close: () => {
      toolSide.close();
      kamailioSide.close();
    },
  };
  let tool: { address: string; port: number } | undefined;
  toolSide.on('message', (message, from) => {
    tool = { address: from.address, port: from.port };
    stats.requests += 1;
    if (stats.firstAt === 0) stats.firstAt = Date.now();
    kamailioSide.send(message, kamailio.sipPort, kamailio.host);
  });
  kamailioSide.on('message', (message) => {
    stats.answers += 1;
    stats.lastAnswerAt = Date.now();
    if (tool) toolSide.send(message, tool.port, tool.address);
  });
  await new Promise<void>((resolve) => toolSide.bind(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => kamailioSide.bind(0, ATTACKER, resolve));
  stats.port = toolSide.address().port;
  return stats;
}

const target = (): string => `udp://${kamailio.host}:${kamailio.sipPort}`;
const common = (): string[] => ['-x', ATTACKER, '--domain', kamailio.domain];

test('svmap finds that something answers SIP on the port, and not what it is', async () => {
  const run = await sipvicious('svmap', ['-p', String(kamailio.sipPort), ...common().slice(0, 2), kamailio.host]);
  console.log(`svmap:\n${run.output}`);
  assert.is(run.code, 0, run.output);
  assert.match(
    run.output,
    new RegExp(`${kamailio.host.replace(/\./g, '\\.')}:${kamailio.sipPort}\\s*\\|\\s*unknown`),
    'found, with an unknown User-Agent',
  );
  assert.not.match(run.output, /kamailio|deskline/i, 'it does not learn the software');
});

test('svwar over extensions 190-210 (201 among them) finds none, by REGISTER, INVITE or OPTIONS, even forced', async () => {
  for (const method of ['REGISTER', 'INVITE', 'OPTIONS']) {
    for (const force of [[], ['--force']]) {
      const run = await sipvicious('svwar', [...common(), '-m', method, ...force, '-e190-210', target()]);
      assert.is(run.code, 0, run.output);
      assert.match(run.output, /found nothing/, `svwar -m ${method} ${force.join(' ')}:\n${run.output}`);
      assert.not.match(run.output, /\|\s*201\s*\|/, 'extension 201 is not listed');
    }
  }
  // It found nothing because every answer is the same, not because it was blocked.
  assert.not.ok(
    kamailio.log.some((line) => line.includes(`flood from ${ATTACKER}`)),
    'svwar was answered throughout',
  );
});

test('svcrack with 1,000 wrong passwords for 201 finds none, and the address is blocked: after how many requests and how long', async () => {
  const dictionary = path.join(tmp, 'passwords.txt');
  const words = Array.from({ length: 1000 }, (_, i) => `Desk-${i}-${randomBytes(6).toString('hex')}`);
  assert.not.ok(words.includes(PHONE_PASSWORD));
  writeFileSync(dictionary, `${words.join('\n')}\n`);
  const hop = await countingHop();
  try {
    const run = await sipvicious('svcrack', [
      ...common(),
      '-u',
      '201',
      '-d',
      dictionary,
      '--maximumtime',
      '5',
      `udp://127.0.0.1:${hop.port}`,
    ]);
    assert.is(run.code, 0, run.output);
    assert.match(run.output, /found nothing/, run.output);
    assert.not.match(run.output, /\|\s*201\s*\|/, 'no password for 201');
    const flood = await kamailio.waitForLog(new RegExp(`flood from ${ATTACKER.replace(/\./g, '\\.')}`));
    assert.ok(flood);
    const answered = hop.answers;
    const seconds = (hop.lastAnswerAt - hop.firstAt) / 1000;
    console.log(
      `svcrack: ${hop.requests} requests sent, ${answered} answered before ${ATTACKER} was blocked, within ${seconds.toFixed(2)} s; then silence`,
    );
    // pike allows 64 requests per 2 s from an address that is neither trunk nor browser.
    assert.ok(answered < 300, `blocked after ${answered} answers`);
    assert.ok(hop.requests > answered, 'requests went unanswered once blocked');
  } finally {
    hop.close();
  }
});

test.run();
