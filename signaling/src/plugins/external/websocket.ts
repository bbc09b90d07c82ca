import fp from 'fastify-plugin';
import websocket from '@fastify/websocket';

/**
 * WebSocket upgrades (the push socket). Registered before the auth and CSRF hooks on purpose: its own
 * hooks mark an upgrade request and destroy its socket once a response is sent, so an upgrade that
 * the guard refuses (401) does not leave the connection open.
 *
 * On close, the plugin's own preClose would close every socket without a code, which a panel cannot
 * tell from a network error; the push plugin closes its sockets itself, with the restart code.
 */
export default fp(
  async (app) => {
    await app.register(websocket, { options: { maxPayload: 4096 }, preClose: (done) => done() });
  },
  { name: 'websocket' },
);
