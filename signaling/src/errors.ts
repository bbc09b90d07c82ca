/** An error caused by the request; its message is shown to the user as is. */
export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    readonly statusCode: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 416 | 422 | 429,
    message: string,
    readonly headers: Record<string, string> = {},
    /** A machine-readable reason the client acts on (`subject-required`), sent as `error`. */
    readonly code?: string,
  ) {
    super(message);
  }
}
