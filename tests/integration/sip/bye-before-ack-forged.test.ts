/**
 * Forged BYEs that reach the sip app itself before the patient's ACK. Through the real Kamailio they
 * stop there (404, bye-before-ack.test.ts); here a fake Kamailio passes on whatever the test sends,
 * as a Kamailio whose in-dialog routing let one through would, so the sip app's own guard is what
 * is tried: a BYE whose To tag or Call-ID names no dialog of its own gets 481 and ends nothing.
 * Real Redis and rtpengine, the sip app as a process.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { freePort } from '@deskline/scripts/free-port';
import { recordedStates } from '../../helpers/call-path.js';
import { patientSdp } from '../../helpers/patient-line.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { startTestRtpengine, type TestRtpengine } from '../../helpers/rtpengine.js';
import { startSipApp, type RunningSipApp } from '../../helpers/sip-app.js';
import {
  cseq,
  header,
  newBranch,
  param,
  parseSipMessage,
  randomToken,
  serialize,
  type SipMessage,
} from '../../helpers/sip-message.js';
import { waitFor } from '../../helpers/wait.js';
import { FakeKamailio, type FakeConnection } from '../../helpers/fake-kamailio.js';

const LINE = '100';

interface Context {
  redis: TestRedis;
  db: Redis;
  rtpengine: TestRtpengine;
  kamailio: FakeKamailio;
  app: RunningSipApp;
}

const test = suite<Context>('bye: forged BYEs before the ACK, at the sip app itself');

test.before(async (context) => {
  context.redis = await startTestRedis();
  context.db = new Redis(context.redis.url);
  context.rtpengine = await startTestRtpengine();
  context.kamailio = await FakeKamailio.listen();
  context.app = await startSipApp({
    env: {
      REDIS_URL: context.redis.url,
      SIP_PORT: String(context.kamailio.port),
      SIP_APP_PORT: String(await freePort('127.0.0.1')),
      RTPENGINE_NG_PORT: String(context.rtpengine.ngPort),
      CLINIC_NUMBERS: LINE,
    },
    readyWhen: 'options-answered',
  });
});

test.after(async (context) => {
  await context.app?.stop();
  context.db?.disconnect();
  await context.kamailio?.close();
  await context.rtpengine?.stop();
  await context.redis?.stop();
});

/** A patient's call as Kamailio relays it to the sip app: one TCP connection, Kamailio's Via on top. */
class RelayedCall {
  readonly callId = `${randomToken(8)}@trunk`;
  readonly fromTag = randomToken(4);
  private nextCseq = 2;
  ok: SipMessage | undefined;

  constructor(
    private readonly kamailio: FakeKamailio,
    private readonly connection: FakeConnection,
    readonly from: string,
  ) {}

  get toTag(): string {
    return param(header(this.ok!, 'to'), 'tag') ?? '';
  }

  /** INVITE; resolves with the sip app's 200. */
  async invite(): Promise<SipMessage> {
    this.send('INVITE', 1, { toTag: undefined, body: patientSdp(9) });
    this.ok = await this.response(1, 'INVITE');
    assert.is(this.ok.status, 200, this.ok.startLine);
    return this.ok;
  }

  /** The 200s to the INVITE so far: the first and its retransmissions. */
  invite200s(): number {
    return this.messages().filter((m) => m.status === 200 && cseq(m).method === 'INVITE').length;
  }

  /** A BYE in this call, or with `changes` (another To tag or Call-ID); resolves with its answer. */
  bye(changes: { toTag?: string; callId?: string } = {}): Promise<SipMessage> {
    const number = this.nextCseq++;
    this.send('BYE', number, { toTag: changes.toTag ?? this.toTag, callId: changes.callId ?? this.callId });
    return this.response(number, 'BYE', changes.callId);
  }

  private messages(callId = this.callId): SipMessage[] {
    return this.connection.messages.map(parseSipMessage).filter((m) => header(m, 'call-id') === callId);
  }

  private send(
    method: string,
    number: number,
    options: { toTag: string | undefined; callId?: string; body?: string },
  ): void {
    const branch = newBranch();
    const list: [string, string][] = [
      ['Via', `SIP/2.0/TCP 127.0.0.1:${this.kamailio.port};branch=${branch}`],
      ['Via', `SIP/2.0/UDP 127.0.0.1:5999;branch=${newBranch()}`],
      ['Max-Forwards', '69'],
      ['From', `<sip:${this.from}@127.0.0.1>;tag=${this.fromTag}`],
      ['To', `<sip:${LINE}@127.0.0.1>${options.toTag ? `;tag=${options.toTag}` : ''}`],
      ['Call-ID', options.callId ?? this.callId],
      ['CSeq', `${number} ${method}`],
      ['Contact', `<sip:${this.from}@127.0.0.1:5999>`],
      ...(options.body ? [['Content-Type', 'application/sdp'] as [string, string]] : []),
    ];
    const uri =
      method === 'INVITE' ? `sip:${LINE}@127.0.0.1` : (/<([^>]+)>/.exec(header(this.ok!, 'contact') ?? '')?.[1] ?? '');
    this.connection.socket.write(serialize(`${method} ${uri} SIP/2.0`, list, options.body ?? ''));
  }

  private response(number: number, method: string, callId = this.callId): Promise<SipMessage> {
    return this.kamailio.waitUntil(`the final answer to ${method} ${number}`, () =>
      this.messages(callId).find(
        (m) => (m.status ?? 0) >= 200 && cseq(m).number === number && cseq(m).method === method,
      ),
    );
  }
}

function connection(kamailio: FakeKamailio): FakeConnection {
  const current = kamailio.connections[kamailio.connections.length - 1];
  if (!current) throw new Error('the sip app has no connection to the fake Kamailio');
  return current;
}

async function deskCallId(app: RunningSipApp, sipCallId: string): Promise<string> {
  const line = await app.waitForLog(
    'the call answered',
    (entry) => entry.msg === 'answered the patient' && entry['sipCallId'] === sipCallId,
  );
  return line['callId'] as string;
}

test("a BYE with a forged To tag, or with another patient's Call-ID, before the ACK: 481; the call still awaits its ACK, and the patient's own BYE ends it", async ({
  kamailio,
  app,
  db,
}) => {
  const victim = new RelayedCall(kamailio, connection(kamailio), '+4915100000091');
  const attacker = new RelayedCall(kamailio, connection(kamailio), '+4915100000092');
  await victim.invite();
  await attacker.invite();
  const victimId = await deskCallId(app, victim.callId);

  const forgedTag = await victim.bye({ toTag: 'a1b2c3d4' });
  assert.is(forgedTag.status, 481, forgedTag.startLine);
  const otherCall = await attacker.bye({ callId: victim.callId });
  assert.is(otherCall.status, 481, otherCall.startLine);

  // The victim's dialog is untouched: its 200 is retransmitted on, as it awaits the ACK.
  const before = victim.invite200s();
  await waitFor('a retransmission of the 200 after the forged BYEs', () => victim.invite200s() > before, 5_000);
  assert.equal(await recordedStates(db, victimId), [], 'nothing recorded: the call goes on');

  const bye = await victim.bye();
  assert.is(bye.status, 200, bye.startLine);
  await waitFor('the call recorded', async () => (await recordedStates(db, victimId)).length === 2);
  assert.equal(await recordedStates(db, victimId), ['intro', 'abandoned']);
  assert.is((await attacker.bye()).status, 200);
});

test.run();
