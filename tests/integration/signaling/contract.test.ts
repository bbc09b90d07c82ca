/**
 * The API contract (protocol/src/api-routes.ts): the web app's ApiClient is typed from API_ROUTES, so
 * signaling must register exactly those routes with exactly those schemas. A route whose response
 * schema lacks a field the table has would have the serializer drop it while the client expects it;
 * a field the route has and the table lacks would be sent but invisible to the client's types.
 *
 * The routes are read from the built app's router: printRoutes hands every route, with its Fastify
 * context (and so its schema), to the router's buildPrettyMeta.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FastifySchema, FastifyServerOptions } from 'fastify';
import { API_ROUTES, PublicUserSchema, SessionInfoSchema, type ApiRoute, type RouteSchema } from '@deskline/protocol';
import { buildApp } from '@deskline/signaling/app';
import { loadConfig } from '@deskline/signaling/config';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** `METHOD /path` without a trailing slash (a prefixed `/` route is registered with and without one). */
const routeKey = (method: string, path: string): string =>
  `${method} ${path.length > 1 ? path.replace(/\/$/, '') : path}`;

/** Every /api route the app registered, with the schema it was registered with. */
async function registeredRoutes(redisUrl: string): Promise<Map<string, FastifySchema | undefined>> {
  const routes = new Map<string, FastifySchema | undefined>();
  // find-my-way's own option, which Fastify passes on to it but does not declare in its types.
  const routerOptions = {
    buildPrettyMeta: (route: { method: string; path: string; store?: { schema?: FastifySchema } }) => {
      if (route.path.startsWith('/api/')) routes.set(routeKey(route.method, route.path), route.store?.schema);
      return {};
    },
  } as FastifyServerOptions['routerOptions'];
  const app = await buildApp(loadConfig({ REDIS_URL: redisUrl }), { logger: false, routerOptions });
  try {
    await app.ready();
    for (const method of METHODS) app.printRoutes({ method, includeMeta: true });
  } finally {
    await app.close();
  }
  return routes;
}

const PARTS = ['params', 'querystring', 'body'] as const;

/** JSON Schema as it is sent and checked; TypeBox's symbols (Kind, Optional) are not part of it. */
const json = (schema: unknown): string | undefined => (schema === undefined ? undefined : JSON.stringify(schema));

/** What differs between the app's routes and the table: an empty list when they agree. */
function differences(
  registered: ReadonlyMap<string, FastifySchema | undefined>,
  table: Readonly<Record<string, ApiRoute>>,
): string[] {
  const found: string[] = [];
  const tableKeys = new Map(
    Object.entries(table).map(([name, route]) => [routeKey(route.method, route.path), { name, route }]),
  );
  for (const key of registered.keys())
    if (!tableKeys.has(key)) found.push(`${key} is registered but not in API_ROUTES`);
  for (const [key, { name, route }] of tableKeys) {
    if (!registered.has(key)) {
      found.push(`API_ROUTES.${name} (${key}) is not registered`);
      continue;
    }
    const schema = registered.get(key) as Partial<RouteSchema> | undefined;
    for (const part of PARTS) {
      if (json(schema?.[part]) !== json(route.schema?.[part]))
        found.push(`${key}: its ${part} schema is not API_ROUTES.${name}'s`);
    }
    const statuses = new Set(
      [...Object.keys(schema?.response ?? {}), ...Object.keys(route.schema?.response ?? {})].map(Number),
    );
    for (const status of statuses) {
      if (json(schema?.response?.[status]) !== json(route.schema?.response[status])) {
        found.push(`${key}: its ${status} response schema is not API_ROUTES.${name}'s`);
      }
    }
  }
  return found;
}

/** `schema` without one of its properties: a field dropped on one side of the contract. */
function without<S extends { properties: Record<string, unknown>; required?: string[] }>(schema: S, field: string): S {
  const { [field]: _dropped, ...properties } = schema.properties;
  return { ...schema, properties, required: (schema.required ?? []).filter((name) => name !== field) };
}

let redis: TestRedis;
let registered: Map<string, FastifySchema | undefined>;

test.before(async () => {
  redis = await startTestRedis();
  registered = await registeredRoutes(redis.url);
});

test.after(async () => {
  await redis.stop();
});

test('signaling registers every route of API_ROUTES, and no other, with its schemas', () => {
  assert.equal(differences(registered, API_ROUTES), []);
});

test('a field removed from a route response schema but kept in the table is found', () => {
  const app = new Map(registered);
  const me = app.get('GET /api/me') as RouteSchema;
  app.set('GET /api/me', { ...me, response: { ...me.response, 200: without(SessionInfoSchema, 'csrfToken') } });
  assert.equal(differences(app, API_ROUTES), ["GET /api/me: its 200 response schema is not API_ROUTES.me's"]);
});

test('a field removed from the table but kept in the route response schema is found', () => {
  const table: Record<string, ApiRoute> = { ...API_ROUTES };
  const profile = API_ROUTES.updateProfile;
  table['updateProfile'] = {
    ...profile,
    schema: {
      ...profile.schema,
      response: { ...profile.schema.response, 200: without(PublicUserSchema, 'avatarUrl') },
    },
  };
  assert.equal(differences(registered, table), [
    "PUT /api/me/profile: its 200 response schema is not API_ROUTES.updateProfile's",
  ]);
});

test('a route missing from either side is found', () => {
  const table: Record<string, ApiRoute> = { ...API_ROUTES };
  delete table['closeTask'];
  assert.equal(differences(registered, table), ['POST /api/tasks/:id/close is registered but not in API_ROUTES']);
  const app = new Map(registered);
  app.delete('POST /api/tasks/:id/close');
  assert.equal(differences(app, API_ROUTES), ['API_ROUTES.closeTask (POST /api/tasks/:id/close) is not registered']);
});

test.run();
