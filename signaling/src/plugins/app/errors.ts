import fp from 'fastify-plugin';
import type { FastifyError, FastifyRequest } from 'fastify';
import type { ApiError } from '@deskline/protocol';
import { ClientError } from '../../errors.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What to say when the body is over the route's limit (routes that take uploads). */
    bodyTooLargeMessage?: string;
  }
}

function body(statusCode: number, message: string, code?: string): ApiError {
  return { statusCode, error: code ?? STATUS_TEXT[statusCode] ?? 'Error', message };
}

/** Friendlier words for the errors Fastify raises itself before a route runs. */
function frameworkMessage(error: FastifyError, request: FastifyRequest): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Send the request body as JSON (Content-Type: application/json).';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'The request body is empty; JSON was expected.';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return request.routeOptions.config.bodyTooLargeMessage ?? 'The request body is too large.';
    default:
      return error.message;
  }
}

/**
 * One place that turns errors into responses: client errors keep their message, validation errors
 * say which field is wrong, and server errors are logged with their request and shown as a generic
 * text, so internals never reach the browser.
 */
export default fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof ClientError) {
        return reply
          .code(error.statusCode)
          .headers(error.headers)
          .send(body(error.statusCode, error.message, error.code));
      }
      if (error.validation) {
        const message = error.validation
          .map((v) => `${error.validationContext ?? 'body'}${v.instancePath} ${v.message ?? 'is invalid'}`)
          .join('; ');
        return reply.code(400).send(body(400, message));
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        return reply.code(status).send(body(status, frameworkMessage(error, request)));
      }
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send(body(status, 'Something went wrong on the server. Try again in a moment.'));
    });

    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send(body(404, `No such resource: ${request.method} ${request.url.split('?')[0]}`));
    });
  },
  { name: 'errors' },
);
