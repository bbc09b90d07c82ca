import { ApiRequestError, UNREACHABLE_MESSAGE } from './api-client.js';

/**
 * What the person at the screen reads about a request that failed: the server's words, or that
 * Deskline could not be reached.
 */
export function errorMessage(error: unknown): string {
  return error instanceof ApiRequestError ? error.message : UNREACHABLE_MESSAGE;
}
