import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle;
  }
}

/** Where this instance is in its life, for what a load balancer asks (GET /api/health). */
export interface Lifecycle {
  /**
   * The process was told to stop and waits SHUTDOWN_DRAIN_SECONDS before it does: /api/health answers
   * 503 so that the proxy's health check sends nothing new here, while everything else is served as
   * usual (docs/scaling.md, "Two signaling instances").
   */
  draining: boolean;
}

export default fp(
  async (app) => {
    app.decorate('lifecycle', { draining: false } satisfies Lifecycle);
  },
  { name: 'lifecycle' },
);
