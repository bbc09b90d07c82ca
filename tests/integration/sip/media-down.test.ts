import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { LogLine } from '../../helpers/sip-app.js';
import { activeCallIds, describeSipp, sipCallIdOf, startCallPath, type CallPath } from '../../helpers/call-path.js';

const test = suite<{ path: CallPath }>('rtpengine down');

test.before(async (context) => {
  context.path = await startCallPath();
});

test.after(async (context) => {
  await context.path?.stop();
});

test('a call while rtpengine is gone is refused (503 from the app, 500 through Kamailio) and the app lives on', async ({
  path,
}) => {
  await path.rtpengineProcess.stop();
  const started = Date.now();
  const result = await path.sipp('uac-invite-media-down-expect-500.xml', { keys: { rtp_port: 9 } });
  assert.is(result.code, 0, describeSipp(result));
  const sipCallId = sipCallIdOf(result);
  const ours = (line: LogLine): boolean => line['sipCallId'] === sipCallId;
  const refused = await path.app.waitForLog(
    'the refusal',
    (line) => ours(line) && line.msg.startsWith('rtpengine could not set up media'),
  );
  assert.match(
    String((refused['err'] as { message?: string }).message),
    /no reply from 127\.0\.0\.1:\d+ within 3000 ms/,
  );
  console.log(`  refused after ${Date.now() - started} ms (three ng attempts of 1 s)`);
  const ended = await path.app.waitForLog('the end of the call', (line) => ours(line) && line.msg === 'call ended');
  assert.is(ended['reason'], 'media-failed');
  assert.ok(path.app.process.running);
  assert.equal(await activeCallIds(path.redis), []);
});

test.run();
