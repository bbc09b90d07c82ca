import type { Logger } from 'pino';
import type { Session } from 'sip.js/lib/core/index.js';

/**
 * A re-INVITE in the session's dialog with our offer `sdp`; resolves with the peer's answer once its
 * 200 is ACKed, rejects on any other final answer (a timeout or a transport error comes back as a
 * 408 or 503). Used to give a browser rtpengine's new ICE credentials and DTLS certificate after
 * rtpengine restarted; JsSIP answers a re-INVITE by itself.
 */
export function sendReinvite(session: Session, sdp: string, log: Logger): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const refused = (statusCode: number | undefined, reasonPhrase: string | undefined): void =>
      reject(new Error(`the re-INVITE was answered ${statusCode ?? '?'} ${reasonPhrase ?? ''}`));
    try {
      session.invite(
        {
          onAccept: (response) => {
            try {
              response.ack();
            } catch (err) {
              log.warn({ err }, 'could not ACK the 200 to the re-INVITE');
            }
            resolve(response.message.body);
          },
          onRedirect: (response) => refused(response.message.statusCode, response.message.reasonPhrase),
          onReject: (response) => refused(response.message.statusCode, response.message.reasonPhrase),
        },
        { body: { contentDisposition: 'session', contentType: 'application/sdp', content: sdp } },
      );
    } catch (err) {
      // SIP.js refuses a re-INVITE while another offer/answer of the dialog is still open.
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
