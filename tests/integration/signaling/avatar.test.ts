/**
 * Avatars: PUT /api/me/avatar (the picture's bytes as the body), DELETE /api/me/avatar and
 * GET /api/users/:id/avatar, against a real redis-server.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AVATAR_MAX_BYTES,
  CSRF_HEADER,
  SESSION_COOKIE,
  avatarUrl,
  type ApiError,
  type PublicUser,
  type SessionInfo,
} from '@deskline/protocol';
import { RedisStreams } from '@deskline/store';
import { GREEN, RED, bands, near, pixelAt, pixelBombPng, widePicture } from '../../helpers/images.js';
import { asUser, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';

const fixture = useFreshApp(test);
let anna: LoggedIn;
let ben: LoggedIn;

test.before.each(async () => {
  anna = await loginOk(
    fixture.app,
    'anna@clinic.example',
    await createUser(fixture.app, 'anna@clinic.example', 'employee'),
  );
  ben = await loginOk(
    fixture.app,
    'ben@clinic.example',
    await createUser(fixture.app, 'ben@clinic.example', 'employee'),
  );
  // Creating the users is announced too; each test counts only what it does.
  await fixture.db.del(RedisStreams.teamEvents);
});

function upload(
  app: FastifyInstance,
  who: LoggedIn,
  body: Buffer,
  contentType = 'application/octet-stream',
  csrf = true,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'PUT',
    url: '/api/me/avatar',
    cookies: { [SESSION_COOKIE]: who.cookie },
    headers: { 'content-type': contentType, ...(csrf ? { [CSRF_HEADER]: who.info.csrfToken } : {}) },
    payload: body,
  });
}

async function storedAvatar(userId: string): Promise<Buffer | null> {
  return fixture.db.getBuffer(`avatar:${userId}`);
}

async function teamEventsFor(userId: string): Promise<number> {
  const entries = await fixture.db.xrange(RedisStreams.teamEvents, '-', '+');
  return entries.filter(([, fields]) => fields[0] === 'userId' && fields[1] === userId).length;
}

for (const format of ['png', 'jpeg', 'webp'] as const) {
  test(`a ${format.toUpperCase()} picture is accepted, cut to a 256×256 square from its centre, and stored as WebP`, async () => {
    const id = anna.info.user.id;
    const response = await upload(fixture.app, anna, await widePicture(format), `image/${format}`);
    assert.is(response.statusCode, 200, response.body);
    const user = response.json<PublicUser>();
    const version = await fixture.db.hget(`user:${id}`, 'avatarVersion');
    assert.ok(version, 'the version is in the user hash');
    assert.is(user.avatarUrl, avatarUrl(id, version));

    const stored = await storedAvatar(id);
    assert.ok(stored, 'the picture is in avatar:<id>');
    const metadata = await sharp(stored).metadata();
    assert.is(metadata.format, 'webp');
    assert.is(metadata.width, 256);
    assert.is(metadata.height, 256);
    assert.is(metadata.exif, undefined, 'no metadata is kept');
    // The source is red | green | blue side by side; the centre square holds only the green band.
    for (const [x, y] of [
      [5, 5],
      [128, 128],
      [250, 250],
    ] as const) {
      const colour = await pixelAt(stored, x, y);
      assert.ok(near(colour, GREEN), `pixel ${x},${y} is green, got ${colour.join(',')}`);
    }
    assert.is(await teamEventsFor(id), 1, 'the change is announced on stream:team-events');
  });
}

test('a tall picture becomes a square too, and a new upload replaces the old one under a new URL', async () => {
  const first = (await upload(fixture.app, anna, await widePicture('png'))).json<PublicUser>();
  const tall = await bands(120, 400, [RED, RED, RED]).png().toBuffer();
  const second = await upload(fixture.app, anna, tall);
  assert.is(second.statusCode, 200, second.body);
  assert.is.not(second.json<PublicUser>().avatarUrl, first.avatarUrl);
  const stored = await storedAvatar(anna.info.user.id);
  const metadata = await sharp(stored!).metadata();
  assert.equal([metadata.width, metadata.height], [256, 256]);
  assert.ok(near(await pixelAt(stored!, 128, 128), RED));
});

test('what is not a PNG, JPEG or WebP is refused with 415 whatever its name or Content-Type, and nothing is lost', async () => {
  const before = await upload(fixture.app, anna, await widePicture('png'));
  const storedBefore = await storedAvatar(anna.info.user.id);
  const cases: Array<[string, Buffer, string]> = [
    ['a GIF', await widePicture('gif'), 'image/gif'],
    ['a GIF claiming to be a PNG', await widePicture('gif'), 'image/png'],
    ['a text file claiming to be a JPEG', Buffer.from('hello, this is not a picture\n'.repeat(20)), 'image/jpeg'],
    ['an SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), 'image/svg+xml'],
  ];
  for (const [what, body, type] of cases) {
    const response = await upload(fixture.app, anna, body, type);
    assert.is(response.statusCode, 415, `${what}: ${response.body}`);
    assert.is(response.json<ApiError>().message, 'Only PNG, JPEG and WebP pictures can be used.');
  }
  assert.ok(storedBefore?.equals((await storedAvatar(anna.info.user.id))!), 'the stored picture is unchanged');
  const me = await asUser(fixture.app, anna, 'GET', '/api/me');
  assert.is(me.json<SessionInfo>().user.avatarUrl, before.json<PublicUser>().avatarUrl);
  assert.is(await teamEventsFor(anna.info.user.id), 1, 'only the accepted upload was announced');
});

test('a damaged picture is refused with 400; an empty body with 400', async () => {
  const png = await widePicture('png');
  const cases: Array<[string, Buffer]> = [
    ['a truncated PNG', png.subarray(0, Math.floor(png.length / 2))],
    ['a PNG signature and noise', Buffer.concat([png.subarray(0, 8), Buffer.alloc(400, 7)])],
    ['a JPEG start and noise', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(400, 1)])],
  ];
  for (const [what, body] of cases) {
    const response = await upload(fixture.app, anna, body);
    assert.is(response.statusCode, 400, `${what}: ${response.body}`);
    assert.match(response.json<ApiError>().message, /could not be read/);
  }
  const empty = await upload(fixture.app, anna, Buffer.alloc(0));
  assert.is(empty.statusCode, 400, empty.body);
  assert.is(empty.json<ApiError>().message, 'Choose a picture to upload.');
  assert.is(await storedAvatar(anna.info.user.id), null);
  assert.is(await fixture.db.hget(`user:${anna.info.user.id}`, 'avatarVersion'), null);
});

test('2 MB are the limit: one byte more is 413 with a clear message', async () => {
  const tooBig = Buffer.concat([await widePicture('png'), Buffer.alloc(AVATAR_MAX_BYTES)]).subarray(
    0,
    AVATAR_MAX_BYTES + 1,
  );
  const response = await upload(fixture.app, anna, tooBig, 'image/png');
  assert.is(response.statusCode, 413, response.body);
  assert.is(response.json<ApiError>().message, 'The picture is larger than 2 MB. Choose a smaller one.');
  assert.is(await storedAvatar(anna.info.user.id), null);
  // Every other route keeps the small JSON limit.
  const big = await asUser(fixture.app, anna, 'PUT', '/api/me/profile', { displayName: 'x'.repeat(70_000) });
  assert.is(big.statusCode, 413);
});

test('a decompression bomb (a small file announcing 400 megapixels) is refused with 413 before decoding', async () => {
  const bomb = pixelBombPng(20_000, 20_000);
  assert.ok(bomb.length < 2000, `the bomb is small (${bomb.length} bytes)`);
  const response = await upload(fixture.app, anna, bomb, 'image/png');
  assert.is(response.statusCode, 413, response.body);
  assert.match(response.json<ApiError>().message, /too large \(20000 × 20000 pixels\); at most 25 megapixels/);
});

test('the picture is served to any logged-in user with its type, a long cache for its version, and nosniff', async () => {
  const user = (await upload(fixture.app, anna, await widePicture('jpeg'))).json<PublicUser>();
  const url = user.avatarUrl!;
  for (const who of [anna, ben]) {
    const response = await asUser(fixture.app, who, 'GET', url);
    assert.is(response.statusCode, 200);
    assert.is(response.headers['content-type'], 'image/webp');
    assert.is(response.headers['cache-control'], 'private, max-age=31536000, immutable');
    assert.is(response.headers['x-content-type-options'], 'nosniff');
    assert.ok(response.rawPayload.equals((await storedAvatar(anna.info.user.id))!));
  }
  const stale = await asUser(fixture.app, ben, 'GET', `/api/users/${anna.info.user.id}/avatar?v=old`);
  assert.is(stale.statusCode, 200);
  assert.is(stale.headers['cache-control'], 'private, no-cache', 'another version is not cached for long');

  const anonymous = await fixture.app.inject({ method: 'GET', url });
  assert.is(anonymous.statusCode, 401, 'a session is required');
  const none = await asUser(fixture.app, anna, 'GET', `/api/users/${ben.info.user.id}/avatar`);
  assert.is(none.statusCode, 404);
  assert.is(none.json<ApiError>().message, 'This user has no picture.');
  const list = await asUser(fixture.app, ben, 'GET', '/api/users');
  assert.is(list.statusCode, 403, 'employees still cannot list users; the picture URL travels with the team');
});

test('removing the picture deletes it and its URL, and is announced', async () => {
  const user = (await upload(fixture.app, anna, await widePicture('webp'))).json<PublicUser>();
  const removed = await asUser(fixture.app, anna, 'DELETE', '/api/me/avatar');
  assert.is(removed.statusCode, 200, removed.body);
  assert.is(removed.json<PublicUser>().avatarUrl, undefined);
  assert.is(await storedAvatar(anna.info.user.id), null);
  assert.is(await fixture.db.hget(`user:${anna.info.user.id}`, 'avatarVersion'), null);
  assert.is((await asUser(fixture.app, ben, 'GET', user.avatarUrl!)).statusCode, 404);
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).json<SessionInfo>().user.avatarUrl, undefined);
  assert.is(await teamEventsFor(anna.info.user.id), 2);
});

test('without the CSRF token an upload or removal is refused with 403 and changes nothing', async () => {
  const refused = await upload(fixture.app, anna, await widePicture('png'), 'image/png', false);
  assert.is(refused.statusCode, 403);
  assert.match(refused.json<ApiError>().message, /CSRF token/);
  assert.is(await storedAvatar(anna.info.user.id), null);
  await upload(fixture.app, anna, await widePicture('png'));
  const remove = await fixture.app.inject({
    method: 'DELETE',
    url: '/api/me/avatar',
    cookies: { [SESSION_COOKIE]: anna.cookie },
  });
  assert.is(remove.statusCode, 403);
  assert.ok(await storedAvatar(anna.info.user.id), 'the picture is still there');
  const anonymous = await fixture.app.inject({
    method: 'PUT',
    url: '/api/me/avatar',
    payload: await widePicture('png'),
  });
  assert.is(anonymous.statusCode, 401);
});

test.run();
