import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PinoFormatter } from '@deskline/scripts/log-format';

const line = (fields: Record<string, unknown>): string =>
  JSON.stringify({ level: 30, time: Date.UTC(2026, 11, 6, 10, 8, 24), pid: 1, hostname: 'vm', name: 'sip', ...fields });

test("a line says which call it is about: the context's scalar fields follow the message as key=value", () => {
  const [out] = new PinoFormatter().format(
    line({ msg: 'call state changed', callId: 'b45b9574', state: 'bridged', waitedMs: 6, adopted: true }),
  );
  assert.match(out ?? '', / INFO {2}call state changed callId=b45b9574 state=bridged waitedMs=6 adopted=true$/);
});

test("pino's own fields and objects stay out; a value with spaces is quoted", () => {
  const [out] = new PinoFormatter().format(line({ msg: 'ringing the agent', agent: { id: 'x' }, reason: 'no answer' }));
  assert.match(out ?? '', / INFO {2}ringing the agent reason="no answer"$/);
  assert.not.match(out ?? '', /pid=|hostname=|name=|agent=/);
});

test('a request line keeps its method, URL and status, with no context to add', () => {
  const formatter = new PinoFormatter();
  formatter.format(line({ msg: 'incoming request', reqId: 'req-1', req: { method: 'GET', url: '/api/health' } }));
  const [out] = formatter.format(
    line({ msg: 'request completed', reqId: 'req-1', res: { statusCode: 200 }, responseTime: 1.25 }),
  );
  assert.match(out ?? '', / INFO {2}request completed GET \/api\/health 200 1\.3ms$/);
});

test('a line that is not pino JSON is passed on as it is', () => {
  assert.equal(new PinoFormatter().format('Ready to accept connections tcp'), ['Ready to accept connections tcp']);
});

test.run();
