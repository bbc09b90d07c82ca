import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Grammar, Parser } from 'sip.js/lib/core/index.js';
import * as original from 'sip.js/lib/grammar/pegjs/dist/grammar.js';
import { loadHoistedGrammar, speedUpSipGrammar } from '@deskline/sip/sip/grammar-speedup';

/**
 * The sip app's faster sip.js grammar (sip/src/sip/grammar-speedup.ts) must parse exactly as sip.js's
 * own: every rule sip.js uses, on headers as Kamailio, trunks, browsers and desk phones send them,
 * and on input that must be refused.
 */
const CASES: Array<[rule: string, input: string]> = [
  ['Via', 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK2d1f.4c1b8e6ad0d3b1e7a4b4f1b0d9f3e1c2.0;i=1'],
  ['Via', 'SIP/2.0/UDP 192.0.2.10:5060;rport=5060;received=198.51.100.7;branch=z9hG4bK-524287-1---abc'],
  ['Via', 'SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK7166743;rport'],
  ['Via', 'SIP/2.0/UDP [2001:db8::10]:5062;branch=z9hG4bKabc;received=2001:db8::1'],
  ['Via', 'SIP/2.0/UDP host.example.com;branch=z9hG4bK776asdhds;ttl=16;maddr=224.2.0.1'],
  ['From', '<sip:+48221234567@trunk.example.pl>;tag=as5f3c1d2a'],
  ['From', '"Anna \\"Reception\\" Kowalska" <sip:anna@deskline.local;transport=ws>;tag=9fxced76sl'],
  ['From', 'sip:alice@atlanta.example.com;tag=1928301774'],
  ['From', 'Anonymous <sip:anonymous@anonymous.invalid>;tag=x'],
  ['To', '<sip:100@127.0.0.1:5060>'],
  ['To', '"Clinic" <sip:100@deskline.local>;tag=abc-123'],
  ['To', '<tel:+48221234567;phone-context=example.pl>'],
  ['Call_ID', 'fab5959dc640da0f4fa2@deskline-test'],
  ['Call_ID', '3848276298220188511@atlanta.example.com'],
  ['CSeq', '314159 INVITE'],
  ['CSeq', '2 ACK'],
  ['Max_Forwards', '69'],
  ['Content_Length', '0'],
  ['Content_Type', 'application/sdp'],
  ['Content_Type', 'multipart/mixed;boundary=unique-boundary-1'],
  [
    'Record_Route',
    '<sip:127.0.0.1:37971;transport=tcp;r2=on;lr=on;dlt=1796561266;did=d18.8721>, <sip:127.0.0.1:42067;r2=on;lr=on>',
  ],
  ['Record_Route', '<sip:[2001:db8::1];lr>'],
  ['Contact', '<sip:127.0.0.1:5070;transport=tcp>'],
  [
    'Contact',
    '"Desk phone" <sip:desk1@192.0.2.20:5062;ob>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"',
  ],
  ['Contact', '*'],
  ['Contact', '<sip:a@b>, <sip:c@d>;q=0.5'],
  ['Request_Response', 'INVITE sip:100@127.0.0.1:42067 SIP/2.0'],
  ['Request_Response', 'SIP/2.0 183 Session Progress'],
  ['Request_Response', 'SIP/2.0 200 OK'],
  ['SIP_URI', 'sip:+48221234567@trunk.example.pl:5061;transport=tls?Subject=hi'],
  ['Name_Addr_Header', '<sip:bob@biloxi.example.com>'],
  ['WWW_Authenticate', 'Digest realm="deskline.local", nonce="abc123", qop="auth", algorithm=MD5'],
  ['Proxy_Authenticate', 'Digest realm="deskline.local", nonce="X", stale=true'],
  ['Session_Expires', '1800;refresher=uac'],
  ['Supported', 'timer, replaces, 100rel'],
  ['Event', 'refer;id=93809824'],
  [
    'Refer_To',
    '<sip:carol@chicago.example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>',
  ],
  ['Replaces', '425928@bobster.example.org;to-tag=7743;from-tag=6472'],
  // Refused by both.
  ['Via', 'SIP/2.0/TCP'],
  ['From', '<sip:unterminated@example.com'],
  ['To', 'not a uri at all ;;;'],
  ['CSeq', 'INVITE 12'],
  ['Max_Forwards', '-1'],
  ['Contact', '<>'],
  ['Request_Response', 'GARBAGE'],
  ['Call_ID', ''],
];

interface ParserModule {
  parse(input: string, options: { startRule: string; data?: unknown }): unknown;
}

/** The data a rule leaves, with class names kept (NameAddrHeader, URI), or -1 when refused: as Grammar.parse. */
function run(grammar: ParserModule, rule: string, input: string): string {
  const options: { startRule: string; data?: unknown } = { startRule: rule };
  try {
    grammar.parse(input, options);
  } catch {
    return '-1';
  }
  return JSON.stringify(options.data, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value) ? { class: value.constructor.name, ...value } : value,
  );
}

test('the rewritten grammar parses every rule sip.js uses exactly as sip.js does, refusals included', async () => {
  const hoisted = await loadHoistedGrammar();
  if (typeof hoisted === 'string') assert.unreachable(`not rewritten: ${hoisted}`);
  const fast = hoisted as ParserModule;
  let refused = 0;
  for (const [rule, input] of CASES) {
    const expected = run(original, rule, input);
    assert.is(run(fast, rule, input), expected, `${rule}: ${input}`);
    if (expected === '-1') refused += 1;
  }
  assert.ok(refused >= 6, `the refusals were tested (${refused})`);
});

test("once applied, sip.js's message parser gives the same message as before, header by header", async () => {
  const invite = [
    'INVITE sip:100@127.0.0.1:42067 SIP/2.0',
    'Record-Route: <sip:127.0.0.1:37971;transport=tcp;r2=on;lr=on>',
    'Record-Route: <sip:127.0.0.1:42067;r2=on;lr=on>',
    'Via: SIP/2.0/TCP 127.0.0.1:42067;branch=z9hG4bKa1b2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:44722;rport=44722;branch=z9hG4bK-1',
    'Max-Forwards: 69',
    'From: "Patient" <sip:+48221234567@127.0.0.1>;tag=p1',
    'To: <sip:100@127.0.0.1>',
    'Call-ID: speedup-test@deskline',
    'CSeq: 1 INVITE',
    'Contact: <sip:+48221234567@127.0.0.1:44722>',
    'Content-Type: application/sdp',
    'Content-Length: 4',
    '',
    'v=0\r\n',
  ].join('\r\n');
  const logger = { log() {}, warn() {}, error() {}, debug() {} } as unknown as Parameters<
    typeof Parser.parseMessage
  >[1];
  const describe = (message: ReturnType<typeof Parser.parseMessage>): string => {
    assert.ok(message, 'parsed');
    const m = message as NonNullable<typeof message> & { method?: string; ruri?: { toString(): string } };
    return JSON.stringify({
      method: m.method,
      ruri: m.ruri?.toString(),
      via: m.via,
      viaBranch: m.viaBranch,
      from: m.from.toString(),
      fromTag: m.fromTag,
      to: m.to.toString(),
      toTag: m.toTag,
      callId: m.callId,
      cseq: m.cseq,
      recordRoute: m.getHeaders('record-route'),
      contact: (m.parseHeader('contact') as { uri?: { toString(): string } } | undefined)?.uri?.toString(),
      body: m.body,
    });
  };
  const parseBefore = Grammar.parse;
  const before = describe(Parser.parseMessage(invite, logger));
  const outcome = await speedUpSipGrammar();
  assert.equal(outcome, { applied: true });
  assert.is.not(Grammar.parse, parseBefore, 'Grammar.parse was replaced');
  assert.is(describe(Parser.parseMessage(invite, logger)), before);
  assert.is(Grammar.parse('nonsense', 'CSeq'), -1, 'a refusal is still -1');
});

test.run();
