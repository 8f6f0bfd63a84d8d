/**
 * The edge of the event model: client/upstream wire JSON in either dialect
 * ↔ internal (beta-shaped) events. Pure; no sockets.
 *
 * Error codes of `parseClientEvent` (error.type is always invalid_request_error):
 * - `invalid_json`               the frame is not JSON;
 * - `invalid_event`              JSON, but not an object with a string `type`;
 * - `unknown_event`              `type` is not a client event we accept (param `type`);
 * - `missing_required_parameter` a required field is absent (param = its path);
 * - `unknown_parameter`          a field the event does not have, e.g. a GA field on a
 *                                beta connection (param = its path);
 * - `invalid_value`              a field has the wrong type or value (param = its path).
 * The last three follow OpenAI's own codes so clients' existing handling applies.
 */
import type { z } from 'zod';
import {
  CLIENT_EVENT_TYPES,
  GA_ONLY_SESSION_FIELDS,
  ClientEventSchema,
  ServerEventSchema,
  type ClientEvent,
  type ServerEvent,
} from '../../contracts/realtime';
import { GaClientEventSchema, type GaClientEvent } from './ga-schemas';
import { normalizeUpstreamSession, serverEventFromGa, serverEventToGa } from './ga-server';
import { clientItemFromGa, clientItemToGa, responseParamsFromGa, responseParamsToGa, sessionPatchFromGa, sessionPatchToGa } from './ga-session';
import { decodeJson, isRecord, type WireEvent } from './wire';

export type Dialect = 'beta' | 'ga';
export type { WireEvent } from './wire';
// Session/format helpers live in ga-session.ts; re-exported here as part of the dialect API.
export {
  audioFormatFromGa,
  audioFormatToGa,
  sessionFromGa,
  sessionPatchFromGa,
  sessionPatchToGa,
  sessionToGa,
} from './ga-session';

export type ClientErrorCode =
  | 'invalid_json'
  | 'invalid_event'
  | 'unknown_event'
  | 'missing_required_parameter'
  | 'unknown_parameter'
  | 'invalid_value';

export interface ClientEventError {
  type: 'invalid_request_error';
  code: ClientErrorCode;
  message: string;
  param?: string;
  event_id?: string;
}

export type ParseClientEventResult = { ok: true; event: ClientEvent } | { ok: false; error: ClientEventError };

const KNOWN_CLIENT_TYPES = new Set<string>(CLIENT_EVENT_TYPES);

// ------------------------------------------------------------ client → us

export function parseClientEvent(raw: unknown, dialect: Dialect): ParseClientEventResult {
  const decoded = decodeJson(raw);
  if (!decoded.ok) return fail('invalid_json', 'The event is not valid JSON.');
  const value = decoded.value;
  if (!isRecord(value)) return fail('invalid_event', 'An event must be a JSON object with a "type".');
  const eventId = typeof value['event_id'] === 'string' ? value['event_id'] : undefined;
  const type = value['type'];
  if (typeof type !== 'string') {
    return fail('invalid_event', 'An event must have a string "type".', 'type', eventId);
  }
  if (!KNOWN_CLIENT_TYPES.has(type)) {
    return fail('unknown_event', `Unknown event type '${type}'. Supported: ${CLIENT_EVENT_TYPES.join(', ')}.`, 'type', eventId);
  }
  if (dialect === 'beta') {
    // The internal patch carries GA's extra fields (flat); the beta reference has none of them.
    const session = type === 'session.update' && isRecord(value['session']) ? value['session'] : {};
    const gaOnly = GA_ONLY_SESSION_FIELDS.find((f) => f in session);
    if (gaOnly !== undefined) {
      return fail('unknown_parameter', `Unknown parameter: 'session.${gaOnly}'. This connection speaks the beta dialect.`, `session.${gaOnly}`, eventId);
    }
    const parsed = ClientEventSchema.safeParse(value);
    return parsed.success ? { ok: true, event: withoutClientSecret(parsed.data) } : fromIssue(parsed.error, value, dialect, eventId);
  }
  const ga = GaClientEventSchema.safeParse(value);
  if (!ga.success) return fromIssue(ga.error, value, dialect, eventId);
  // Re-validate the translation so the result is the normalised internal type.
  const internal = ClientEventSchema.safeParse(clientEventFromGa(ga.data));
  return internal.success ? { ok: true, event: internal.data } : fromIssue(internal.error, value, dialect, eventId);
}

/** Beta's `session.client_secret` configures ephemeral keys, which mean nothing on an open socket: accepted, dropped. */
function withoutClientSecret(e: ClientEvent): ClientEvent {
  if (e.type !== 'session.update' || e.session.client_secret === undefined) return e;
  const { client_secret: _unused, ...session } = e.session;
  return { ...e, session };
}

function clientEventFromGa(e: GaClientEvent): unknown {
  switch (e.type) {
    case 'session.update':
      return { ...e, session: sessionPatchFromGa(e.session) };
    case 'response.create':
      return e.response === undefined ? e : { ...e, response: responseParamsFromGa(e.response) };
    case 'conversation.item.create':
      return { ...e, item: clientItemFromGa(e.item) };
    default:
      return e;
  }
}

function fail(code: ClientErrorCode, message: string, param?: string, eventId?: string): { ok: false; error: ClientEventError } {
  return {
    ok: false,
    error: {
      type: 'invalid_request_error',
      code,
      message,
      ...(param !== undefined && { param }),
      ...(eventId !== undefined && { event_id: eventId }),
    },
  };
}

function at(value: unknown, path: readonly PropertyKey[]): unknown {
  let cur = value;
  for (const key of path) {
    if (!isRecord(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function dotted(path: readonly PropertyKey[]): string {
  return path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
}

/** First zod issue → an OpenAI-style error that names the field. */
function fromIssue(error: z.ZodError, value: unknown, dialect: Dialect, eventId?: string): { ok: false; error: ClientEventError } {
  const issue = error.issues[0];
  if (issue === undefined) return fail('invalid_event', 'Invalid event.', undefined, eventId);
  if (issue.code === 'unrecognized_keys') {
    const param = dotted([...issue.path, issue.keys[0] ?? '']);
    return fail(
      'unknown_parameter',
      `Unknown parameter: '${param}'. This connection speaks the ${dialect === 'ga' ? 'GA' : 'beta'} dialect.`,
      param,
      eventId,
    );
  }
  const param = dotted(issue.path);
  if (issue.code === 'invalid_type' && at(value, issue.path) === undefined) {
    return fail('missing_required_parameter', `Missing required parameter: '${param}'.`, param, eventId);
  }
  return fail('invalid_value', `Invalid '${param}': ${issue.message}`, param, eventId);
}

// ------------------------------------------------------------ us → client

export interface ToClientWireOptions {
  /**
   * GA announces a finished item with `conversation.item.done`. Producers of
   * the internal model emit it themselves; set this when the source cannot
   * (a beta upstream) so a completed `item.created` also yields `.done`.
   */
  synthesizeItemDone?: boolean;
}

/** All wire events (0..n) for one internal event, in order. */
export function toClientWireAll(event: ServerEvent, dialect: Dialect, opts: ToClientWireOptions = {}): WireEvent[] {
  if (dialect === 'beta') {
    if (event.type === 'conversation.item.done') return []; // GA-only lifecycle event
    if (event.type === 'session.created' || event.type === 'session.updated') {
      return [{ ...event, session: withoutGaOnly(event.session) }];
    }
    if (event.type === 'response.function_call_arguments.done') {
      const { name: _gaOnly, ...beta } = event;
      return [beta];
    }
    return [event];
  }
  const ga = serverEventToGa(event);
  if (
    opts.synthesizeItemDone === true &&
    event.type === 'conversation.item.created' &&
    event.item.status !== undefined &&
    event.item.status !== 'in_progress'
  ) {
    return [ga, { ...ga, type: 'conversation.item.done' }];
  }
  return [ga];
}

/** The one wire event for an internal event, or null when the dialect has none (item.done for beta). */
export function toClientWire(event: ServerEvent, dialect: Dialect): WireEvent | null {
  return toClientWireAll(event, dialect)[0] ?? null;
}

// ------------------------------------------------------------ us → upstream

/** `response.interrupt` is ours: the caller maps it to response.cancel + item.truncate. */
export type UpstreamClientEvent = Exclude<ClientEvent, { type: 'response.interrupt' }>;

export function toUpstreamWire(event: UpstreamClientEvent, dialect: Dialect): WireEvent {
  if ((event as ClientEvent).type === 'response.interrupt') {
    throw new Error('response.interrupt is a gateway extension and is never sent upstream');
  }
  if (dialect === 'beta') {
    // A beta server has no GA-only fields; `client_secret` means nothing on an open socket.
    if (event.type === 'session.update') {
      const { client_secret: _none, ...session } = event.session;
      return { ...event, session: withoutGaOnly(session) };
    }
    return event;
  }
  switch (event.type) {
    case 'session.update':
      return { ...event, session: sessionPatchToGa(event.session) };
    case 'response.create':
      return event.response === undefined ? event : { ...event, response: responseParamsToGa(event.response) };
    case 'conversation.item.create':
      return { ...event, item: clientItemToGa(event.item) };
    default:
      return event;
  }
}

/** A session (or patch) without the fields only GA defines: a beta peer knows none of them. */
function withoutGaOnly<T extends object>(session: T): T {
  const out = { ...session } as Record<string, unknown>;
  for (const f of GA_ONLY_SESSION_FIELDS) delete out[f];
  return out as T;
}

// ------------------------------------------------------------ upstream → us

/**
 * `known: false` = the upstream sent something the internal model lacks (a
 * GA-only event such as `input_audio_buffer.timeout_triggered`, or a known
 * type whose payload did not validate, then `issue` says why). The original
 * wire object is returned untouched so the caller can forward or log it.
 */
export type UpstreamEvent =
  /**
   * `frame`: the upstream's own bytes of an audio delta, valid as they are in the upstream's dialect.
   * `note`: how the event differed from the reference shape and was made to fit (defaulted fields).
   */
  | { known: true; event: ServerEvent; frame?: Uint8Array; note?: string }
  | { known: false; event: WireEvent; issue?: string };

/**
 * Null when the frame is not a JSON object with a string `type`. Liberal in what it accepts
 * (docs/DESIGN.md §7): missing session fields take OpenAI's defaults, and unknown top-level fields of a
 * known event stay on it.
 */
export function parseUpstreamEvent(raw: unknown, dialect: Dialect): UpstreamEvent | null {
  const decoded = decodeJson(raw);
  if (!decoded.ok || !isRecord(decoded.value) || typeof decoded.value['type'] !== 'string') return null;
  if (decoded.value['type'] === AUDIO_DELTA[dialect]) {
    const fast = audioDelta(decoded.value, raw);
    if (fast) return fast;
  }
  const wire = decoded.value as WireEvent;
  let internal = dialect === 'ga' ? serverEventFromGa(wire) : wire;
  let note: string | undefined;
  if (internal.type === 'session.created' || internal.type === 'session.updated') {
    const { session, defaulted } = normalizeUpstreamSession(internal['session']);
    internal = { ...internal, session };
    // GA sessions are filled in by sessionFromGa already; a beta one is reported here.
    if (defaulted.length > 0 && dialect === 'beta') note = `session lacks ${defaulted.join(', ')} (defaulted)`;
  }
  if (!KNOWN_SERVER_TYPES.has(internal.type)) return { known: false, event: wire };
  const parsed = ServerEventSchema.safeParse(internal);
  if (parsed.success) {
    const event = { ...internal, ...parsed.data } as ServerEvent;
    return note === undefined ? { known: true, event } : { known: true, event, note };
  }
  const issue = parsed.error.issues[0];
  return {
    known: false,
    event: wire,
    issue: issue === undefined ? 'invalid' : `${dotted(issue.path) || '(event)'}: ${issue.message}`,
  };
}

const AUDIO_DELTA = { beta: 'response.audio.delta', ga: 'response.output_audio.delta' } as const;
const AUDIO_DELTA_FIELDS = 7; // type, event_id, response_id, item_id, output_index, content_index, delta

/**
 * Audio deltas are most of a realtime call's traffic (50 calls: thousands of ~6 KB events a
 * second). One with exactly the standard fields is checked here rather than by the schema, and
 * keeps its bytes: a client of the upstream's dialect is sent them as they came (no stringify,
 * no re-encoding), since relaying would rebuild the very same event.
 */
function audioDelta(v: Record<string, unknown>, raw: unknown): UpstreamEvent | null {
  const { event_id, response_id, item_id, output_index, content_index, delta } = v;
  if (Object.keys(v).length !== AUDIO_DELTA_FIELDS) return null;
  if (typeof event_id !== 'string' || typeof response_id !== 'string' || typeof item_id !== 'string' || typeof delta !== 'string') return null;
  if (!Number.isInteger(output_index) || (output_index as number) < 0 || !Number.isInteger(content_index) || (content_index as number) < 0) return null;
  const event: ServerEvent = { type: 'response.audio.delta', event_id, response_id, item_id, output_index: output_index as number, content_index: content_index as number, delta };
  return { known: true, event, ...(raw instanceof Uint8Array ? { frame: raw } : {}) };
}

const KNOWN_SERVER_TYPES = new Set<string>(ServerEventSchema.options.map((o) => o.shape.type.value));
