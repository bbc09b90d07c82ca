import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ALL_QUEUES, inQueue, queueFilterIn } from '@deskline/web/build/queue-filter.js';

const TWO = [
  { id: 'appointments', name: 'Appointments' },
  { id: 'results', name: 'Test results' },
];

test("a queue's filter shows that queue's calls and the calls not in a queue yet; all queues shows every call", () => {
  assert.ok(inQueue({ queueId: 'results' }, 'results'));
  assert.not.ok(inQueue({ queueId: 'appointments' }, 'results'));
  assert.ok(inQueue({}, 'results'), 'in the intro or the menu, or after hours: shown under every queue');
  assert.ok(inQueue(undefined, 'results'), 'a task with no call');
  assert.ok(inQueue({ queueId: 'appointments' }, ALL_QUEUES));
});

test('the chosen queue is in force only while the plan has it and more than one queue', () => {
  assert.is(queueFilterIn('results', TWO), 'results');
  assert.is(queueFilterIn('gone', TWO), ALL_QUEUES, 'a queue the manager removed');
  assert.is(queueFilterIn('results', [TWO[1]!]), ALL_QUEUES, 'one queue: no filter');
  assert.is(queueFilterIn('results', []), ALL_QUEUES, 'queues not read yet');
  assert.is(queueFilterIn(ALL_QUEUES, TWO), ALL_QUEUES);
});

test.run();
