/**
 * What a client may put into a call, in either mode (realtime: before it goes upstream; chained:
 * before the driver acts on it). The business decides the session: a client may change only the
 * fields in `allowed_overrides` (by session.update or per reply in response.create), may add
 * role-system messages only when `allowed_overrides` has `system_messages` (or `instructions`:
 * whoever may replace the instructions gains nothing from a system message), and may not forge
 * the calls or results of tools the gateway runs itself.
 * Pure: returns the new session or an error to answer locally; nothing is sent.
 */
import type { Business } from '../contracts/business';
import type { ClientConversationItem, ClientEvent, ClientEventOf, RealtimeError } from '../contracts/realtime';
import { SessionPatch, type Session } from '../contracts/session';
import { ApiError } from '../errors';
import { overrideSession } from '../gateway/call-factory';
import { toolHandlerFor } from '../tools/tool-handler';

export type GuardError = Omit<RealtimeError, 'type'> & { type: string; code: string };

export interface GuardContext {
  business: Business;
  extraVoices: readonly string[];
  /** call_ids of function calls the gateway executes (builtin and webhook handlers). */
  serverCallIds: ReadonlySet<string>;
  /** Which voice list a per-response voice is checked against (default: the Realtime list). */
  mode?: 'realtime' | 'chained';
}

function guardError(code: string, message: string, param: string, eventId: string | undefined): GuardError {
  return { type: 'invalid_request_error', code, message, param, ...(eventId ? { event_id: eventId } : {}) };
}

function fromApiError(err: unknown, eventId: string | undefined): GuardError {
  if (err instanceof ApiError) return guardError(err.code, err.message, err.param ?? '', eventId);
  throw err;
}

/** The business as seen by the call's mode: a realtime call checks voices against the Realtime list even after a PUT changed the mode. */
function asMode(b: Business, mode: 'realtime' | 'chained' = 'realtime'): Business {
  return b.mode === mode ? b : { ...b, mode };
}

/** session.update → the next effective session and the fields that changed, or an error. */
export function guardSessionUpdate(
  ctx: GuardContext,
  current: Session,
  e: ClientEventOf<'session.update'>,
): { ok: true; session: Session; fields: string[] } | { ok: false; error: GuardError } {
  // The model is fixed for a call (OpenAI's rule too); clients resend it anyway.
  const { model: _model, client_secret: _secret, ...rest } = e.session;
  const parsed = SessionPatch.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = ['session', ...issue.path.map(String)].join('.');
    const code = issue.code === 'unrecognized_keys' ? 'unknown_parameter' : 'invalid_value';
    const name = issue.code === 'unrecognized_keys' ? `${param}.${issue.keys[0] ?? ''}` : param;
    return { ok: false, error: guardError(code, `Invalid '${name}': ${issue.message}`, name, e.event_id) };
  }
  try {
    const session = overrideSession(asMode(ctx.business, ctx.mode), current, parsed.data, ctx.extraVoices);
    return { ok: true, session, fields: Object.keys(parsed.data) };
  } catch (err) {
    return { ok: false, error: fromApiError(err, e.event_id) };
  }
}

/** response.create params that override the session for one reply, by the session field they touch. */
const RESPONSE_OVERRIDES = {
  instructions: 'instructions',
  voice: 'voice',
  tools: 'tools',
  tool_choice: 'tool_choice',
  temperature: 'temperature',
  modalities: 'modalities',
  output_audio_format: 'output_audio_format',
  max_response_output_tokens: 'max_response_output_tokens',
} as const;

export function guardResponseCreate(ctx: GuardContext, e: ClientEventOf<'response.create'>): GuardError | null {
  const r = e.response;
  if (!r) return null;
  const allowed = ctx.business.allowed_overrides as string[];
  for (const [param, field] of Object.entries(RESPONSE_OVERRIDES)) {
    if (r[param as keyof typeof r] === undefined || allowed.includes(field)) continue;
    return guardError(
      'override_not_allowed',
      `Business '${ctx.business.id}' does not allow calls to change ${field}, not even for one response. Allowed: ${allowed.join(', ')}.`,
      `response.${param}`,
      e.event_id,
    );
  }
  if (r.voice !== undefined && typeof r.voice === 'string') {
    try {
      // A voice check only: the patch result is discarded.
      overrideSession(asMode(ctx.business, ctx.mode), ctx.business.session, { voice: r.voice }, ctx.extraVoices, 'response');
    } catch (err) {
      return fromApiError(err, e.event_id);
    }
  }
  for (const [i, item] of (r.input ?? []).entries()) {
    if (item.type === 'item_reference') continue;
    const err = guardItem(ctx, item, `response.input[${i}]`, e.event_id);
    if (err) return err;
  }
  return null;
}

/** The guard for one client event, if it has one (the other events need no business rule). */
export function guardClientEvent(ctx: GuardContext, e: ClientEvent): GuardError | null {
  if (e.type === 'response.create') return guardResponseCreate(ctx, e);
  if (e.type === 'conversation.item.create') return guardItemCreate(ctx, e);
  return null;
}

export function guardItemCreate(ctx: GuardContext, e: ClientEventOf<'conversation.item.create'>): GuardError | null {
  return guardItem(ctx, e.item, 'item', e.event_id);
}

function guardItem(ctx: GuardContext, item: ClientConversationItem, param: string, eventId: string | undefined): GuardError | null {
  const allowed = ctx.business.allowed_overrides as string[];
  if (item.type === 'message' && item.role === 'system' && !allowed.includes('system_messages') && !allowed.includes('instructions')) {
    return guardError(
      'override_not_allowed',
      `Business '${ctx.business.id}' does not allow system messages from clients (allowed_overrides has neither system_messages nor instructions).`,
      `${param}.role`,
      eventId,
    );
  }
  if (item.type === 'function_call' && toolHandlerFor(ctx.business, item.name).type !== 'client') {
    return guardError('tool_not_client_side', `Tool '${item.name}' is run by the gateway; a client may only add calls of its own (client) tools.`, `${param}.name`, eventId);
  }
  if (item.type === 'function_call_output' && ctx.serverCallIds.has(item.call_id)) {
    return guardError('tool_not_client_side', `Function call '${item.call_id}' is run by the gateway; its output cannot come from the client.`, `${param}.call_id`, eventId);
  }
  return null;
}
