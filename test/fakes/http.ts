/**
 * The fake's HTTP helpers: recorded requests and scripted failures. The wire helpers themselves are
 * the local provider's (re-exported here so the fake's modules import one place).
 */
import type { ServerResponse } from 'node:http';
import { apiError, sendJson } from '../../src/local-provider/http';
import type { ScriptedFailure } from './script';

export {
  apiError, BodyTooLargeError, commonHeaders, delay, randomId, readBody, sendError, sendJson, write, type ApiError,
} from '../../src/local-provider/http';

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. '/v1/chat/completions'. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON; for multipart `{fields, file}`; otherwise the raw text (or undefined when empty). */
  body: unknown;
  at: number;
  /** Set when the client went away before the response was complete. */
  aborted?: boolean;
  /** Set when the response was completely written. */
  completed?: boolean;
  status?: number;
}

const DEFAULT_FAILURE_MESSAGES: Record<number, string> = {
  400: 'Invalid request (scripted failure of the fake provider).',
  401: 'Incorrect API key provided (scripted failure of the fake provider).',
  429: 'Rate limit reached for requests (scripted failure of the fake provider). Please try again shortly.',
  500: 'The server had an error while processing your request (scripted failure of the fake provider).',
  503: 'The engine is currently overloaded (scripted failure of the fake provider).',
};

export function failureBody(failure: ScriptedFailure): object {
  if (failure.body) return failure.body;
  const message = DEFAULT_FAILURE_MESSAGES[failure.status] ?? `Scripted failure with status ${failure.status}.`;
  return { error: apiError(failure.status, message) };
}

/** 429s carry `retry-after` like OpenAI's (0 s by default so tests stay fast; override with `headers`). */
export function failureHeaders(failure: ScriptedFailure): Record<string, string> {
  const defaults: Record<string, string> = failure.status === 429 ? { 'retry-after': '0' } : {};
  return { ...defaults, ...failure.headers };
}

export function sendFailure(res: ServerResponse, failure: ScriptedFailure): void {
  sendJson(res, failure.status, failureBody(failure), failureHeaders(failure));
}

