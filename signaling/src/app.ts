import { existsSync } from 'node:fs';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config.js';
import redis from './plugins/external/redis.js';
import websocket from './plugins/external/websocket.js';
import stores from './plugins/app/stores.js';
import auth, { withAccess } from './plugins/app/auth.js';
import csrf from './plugins/app/csrf.js';
import errors from './plugins/app/errors.js';
import liveEvents from './plugins/app/live-events.js';
import push, { PUSH_PATH } from './plugins/app/push.js';
import lifecycle from './plugins/app/lifecycle.js';
import pauseTimer from './plugins/app/pause-timer.js';
import taskBoard from './plugins/app/tasks.js';
import health from './routes/api/health/index.js';
import authRoutes from './routes/api/auth/index.js';
import me from './routes/api/me/index.js';
import users from './routes/api/users/index.js';
import workstations from './routes/api/workstations/index.js';
import workstation from './routes/api/workstation/index.js';
import sip from './routes/api/sip/index.js';
import team from './routes/api/team/index.js';
import queues from './routes/api/queues/index.js';
import pause from './routes/api/pause/index.js';
import settings from './routes/api/settings/index.js';
import subjects from './routes/api/subjects/index.js';
import statistics from './routes/api/statistics/index.js';
import tasks from './routes/api/tasks/index.js';
import voicemail from './routes/api/voicemail/index.js';
import contacts from './routes/api/contacts/index.js';
import pushSocket from './routes/api/push/index.js';

/**
 * With TRUST_PROXY, one proxy on this machine (Caddy under Compose) stands in front: the client is
 * the address that proxy saw, the last entry of X-Forwarded-For. Only a loopback peer is trusted, and
 * only for that one hop: entries before it are whatever the client wrote (`trustProxy: true` would
 * take the first, and let anyone choose their address for the login limits), and a client that
 * reaches signaling directly cannot name an address at all.
 */
function trustLocalProxy(address: string, hop: number): boolean {
  return hop === 0 && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

/** API request bodies are small JSON documents; uploads get their own limits on their own routes. */
const BODY_LIMIT = 64 * 1024;

/**
 * Builds the signaling app without listening, so tests can use `inject`.
 * `server.ts` adds logging destinations, timeouts and `listen`.
 */
export async function buildApp(config: Config, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    trustProxy: config.TRUST_PROXY ? trustLocalProxy : false,
    // Unknown fields are an error the client should hear about, not something to drop silently.
    ajv: { customOptions: { removeAdditional: false } },
    ...options,
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(errors);
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // The push socket, and Kamailio's SIP WebSocket on its own port.
        connectSrc: ["'self'", 'ws:', 'wss:'],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
        styleSrc: ["'self'"],
        scriptSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: config.COOKIE_SECURE ? [] : null,
      },
    },
    strictTransportSecurity: config.COOKIE_SECURE,
  });
  await app.register(cookie);
  await app.register(lifecycle);
  await app.register(redis, { settings: config });
  await app.register(websocket);
  await app.register(stores, { config });
  await app.register(auth, { config });
  await app.register(csrf, { config });
  await app.register(taskBoard, { retentionDays: config.HISTORY_RETENTION_DAYS });
  await app.register(liveEvents);
  await app.register(push, { config });
  await app.register(pauseTimer);

  await app.register(health, { prefix: '/api/health' });
  await app.register(authRoutes, { prefix: '/api/auth' });
  await app.register(me, { prefix: '/api/me' });
  await app.register(users, { prefix: '/api/users' });
  await app.register(workstations, { prefix: '/api/workstations' });
  await app.register(workstation, { prefix: '/api/workstation' });
  await app.register(sip, { prefix: '/api/sip', config });
  await app.register(team, { prefix: '/api/team' });
  await app.register(queues, { prefix: '/api/queues' });
  await app.register(pause, { prefix: '/api/pause' });
  await app.register(subjects, { prefix: '/api/subjects' });
  await app.register(settings, { prefix: '/api/settings', config });
  await app.register(statistics, { prefix: '/api/statistics', config });
  await app.register(tasks, { prefix: '/api/tasks', config });
  await app.register(voicemail, { prefix: '/api/voicemail' });
  await app.register(contacts, { prefix: '/api/contacts' });
  await app.register(pushSocket, { prefix: PUSH_PATH, config });

  if (existsSync(config.WEB_ROOT)) {
    // The web app's files are public: the login page must load before anyone logs in.
    await app.register(
      withAccess('public', (scope) => {
        // fastify-static refuses a non-canonical path (`//api/x`, `/./x`, `/x/..`) with 403; for the
        // caller that is simply no such file, like every other spelling the router does not match.
        scope.setErrorHandler((error: FastifyError, _request, reply) => {
          if (error.code === 'FST_STATIC_FORBIDDEN_PATH') return reply.callNotFound();
          throw error;
        });
        return scope.register(fastifyStatic, { root: config.WEB_ROOT, index: 'index.html', cacheControl: false });
      }),
    );
  } else {
    app.log.warn({ webRoot: config.WEB_ROOT }, 'the web app is not built; run `npm run build`');
  }

  return app;
}
