/**
 * A patient's call from a trunk (a UDP endpoint) through a real Kamailio, answered by the test's
 * stand-in for the sip app (an endpoint on the sip app's address, e.g. WorkstationRinger's): the
 * dialog as each side holds it, for tests of what Kamailio does with its in-dialog requests.
 */
import * as assert from 'uvu/assert';
import type { TestKamailio } from './kamailio.js';
import type { SentRequest, SipEndpoint, SipUdpEndpoint } from './sip-endpoint.js';
import { headers, randomToken, type SipMessage } from './sip-message.js';

export interface TrunkDialog {
  /** The trunk's INVITE. */
  sent: SentRequest;
  /** The sip app's tag. */
  toTag: string;
  /** The trunk's route set: the 200's Record-Route, last first. */
  routes: string[];
  /** The sip app's route set: the INVITE's Record-Route as it arrived. */
  appRoutes: string[];
  /** The Contact the sip app answered with. */
  appContact: string;
}

function recordRoutes(message: SipMessage): string[] {
  return headers(message, 'record-route')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim());
}

/** The trunk calls 100; the sip app's stand-in answers 200; with `ack`, the trunk confirms the dialog. */
export async function answeredTrunkCall(
  kamailio: TestKamailio,
  trunk: SipUdpEndpoint,
  app: SipEndpoint,
  options: { ack?: boolean } = {},
): Promise<TrunkDialog> {
  const sent = trunk.sendRequest({
    method: 'INVITE',
    uri: `sip:100@${kamailio.domain}`,
    from: `sip:+48600100200@${kamailio.domain}`,
    to: `sip:100@${kamailio.domain}`,
    contact: `sip:patient@127.0.0.1:${trunk.localPort}`,
    headers: [['Content-Type', 'application/sdp']],
    body: 'v=0\r\n',
  });
  const invite = await app.waitForRequest('INVITE', sent.callId);
  const toTag = randomToken(4);
  const appContact = `sip:deskline@${kamailio.appHost}:${kamailio.appPort};transport=tcp`;
  app.respond(invite, 200, 'OK', { toTag, headers: [['Contact', `<${appContact}>`]] });
  const ok = await trunk.finalResponse(sent);
  assert.is(ok.status, 200, ok.raw);
  const dialog = { sent, toTag, routes: recordRoutes(ok).reverse(), appRoutes: recordRoutes(invite), appContact };
  if (options.ack) {
    trunk.sendRequest({
      method: 'ACK',
      uri: appContact,
      from: `sip:+48600100200@${kamailio.domain}`,
      to: `sip:100@${kamailio.domain}`,
      callId: sent.callId,
      fromTag: sent.fromTag,
      toTag,
      cseq: sent.cseq,
      routes: dialog.routes,
    });
    await app.waitForRequest('ACK', sent.callId);
  }
  return dialog;
}
