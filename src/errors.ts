/**
 * Errors the API returns (`{"error": {type, code, message, param}}`, docs/DESIGN.md §5) and the
 * classification the retry policy uses for provider errors.
 */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'conflict_error'
  | 'server_error';

export interface ApiErrorBody {
  error: { type: ApiErrorType; code: string; message: string; param: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ApiErrorBody {
    return { error: { type: this.type, code: this.code, message: this.message, param: this.param } };
  }

  static badRequest(message: string, param: string | null = null, code = 'invalid_request'): ApiError {
    return new ApiError(400, 'invalid_request_error', code, message, param);
  }
  static unauthorized(message = 'Missing or invalid API key. Send Authorization: Bearer <key>.'): ApiError {
    return new ApiError(401, 'authentication_error', 'invalid_api_key', message);
  }
  static forbidden(message = 'This key may not access this resource.'): ApiError {
    return new ApiError(403, 'permission_error', 'forbidden', message);
  }
  /** `param` names the request field that held the id (a path `id`, or a body field such as `business_id`). */
  static notFound(what: string, id: string, param = 'id'): ApiError {
    return new ApiError(404, 'not_found_error', `${what}_not_found`, `No ${what} with id '${id}'.`, param);
  }
  static conflict(message: string, code = 'conflict'): ApiError {
    return new ApiError(409, 'conflict_error', code, message);
  }
  /** A 415 that names the Content-Types the route accepts, so the caller can fix the request. */
  static unsupportedMediaType(got: string | undefined, accepted: readonly string[]): ApiError {
    return new ApiError(
      415,
      'invalid_request_error',
      'unsupported_media_type',
      `Unsupported Content-Type '${got || 'none'}'. Send one of: ${accepted.join(', ')}.`,
      'content-type',
    );
  }
  static rateLimited(message: string, retryAfterS: number): ApiError {
    return new ApiError(429, 'rate_limit_error', 'rate_limit_exceeded', message, null, {
      'retry-after': String(Math.max(1, Math.ceil(retryAfterS))),
    });
  }
}

/** Whether a provider error is worth retrying: 408/409/429/5xx and connection errors; other 4xx are not. */
export function isRetryableProviderError(err: unknown): boolean {
  if (err instanceof Error && err.name === 'AbortError') return false;
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status !== 'number') return true; // connection reset, timeout, DNS: transient
  if (status === 429) {
    const code = (err as { code?: unknown }).code;
    return code !== 'insufficient_quota';
  }
  return status === 408 || status === 409 || status >= 500;
}
