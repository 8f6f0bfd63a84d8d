/**
 * Runs one tool call for either mode: arguments are checked against the tool's JSON Schema (ajv)
 * before any handler runs; unknown tools, invalid arguments, handler errors and timeouts all
 * become an error result the model sees (so it can apologise or ask again) — never a broken call.
 * A finished run's result is kept, so a redelivered job does not run the same tool call again.
 */
import { createHash } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import type { Business } from '../contracts/business';
import type { FunctionTool, ToolHandler } from '../contracts/tools';
import type { BusinessStore } from '../adapters/business-store';
import type { Keys, Redis } from '../adapters/redis';
import type { StageLog } from '../adapters/stage-log';
import type { AuditLog } from '../security/audit-log';
import { BUILTIN_HANDLERS } from './customer-support';
import { callWebhook, DEFAULT_WEBHOOK_POLICY } from './webhook';
import type { Cidr } from '../core/net/destination';
import { toE164 } from '../core/phone';
import { toolHandlerFor } from './tool-handler';
import { WriteBatch } from '../core/write-batch';

export { CLIENT_TOOL_TIMEOUT_MS, toolHandlerFor } from './tool-handler';

export interface ToolRunDeps {
  redis: Redis;
  keys: Keys;
  businesses: BusinessStore;
  stageLog: StageLog;
  /** When given, every tool call is audited with its arguments and result (redacted). */
  audit?: AuditLog;
  /** The call records (for lookup_customer's verified caller id). */
  calls?: { get(id: string): Promise<{ metadata: Record<string, unknown> } | null> };
  /** WEBHOOK_ALLOW_CIDRS (Services and worker deps carry the config). */
  config?: { webhookAllowCidrs: Cidr[] };
}

export interface ToolRunContext {
  business: Business;
  callId: string;
  turnId: string;
  /**
   * Where in the turn this run sits (the chained LLM's tool round; the upstream's call id in
   * realtime mode): with the turn and the call itself, it names the run (see toolRunId).
   */
  scope: string;
  signal: AbortSignal;
  attempt: number;
  /** The tools the call's session offers the model (client-declared ones included); default: the business's. */
  tools?: readonly FunctionTool[];
  /** How the mode carries out end_call / transfer_to_human (after the current answer is spoken). */
  requestCallAction?: (action: 'transfer' | 'end', reason: string | undefined) => Promise<void>;
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ToolResult {
  call_id: string;
  name: string;
  arguments: string;
  output: string;
  ok: boolean;
  duration_ms: number;
}

const ajv = new Ajv({ allErrors: false, strict: false });
const validators = new Map<string, ValidateFunction>();

function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    v = ajv.compile(schema);
    if (validators.size > 1000) validators.clear();
    validators.set(key, v);
  }
  return v;
}

class ToolError extends Error {}

/**
 * A stable name for one tool run: the same call, turn, scope, tool and arguments give the same
 * id in any worker. A webhook gets it as `Idempotency-Key`, so a request repeated after a worker
 * died mid-request can be recognised; the result cache below is keyed by it.
 */
export function toolRunId(ctx: Pick<ToolRunContext, 'callId' | 'turnId' | 'scope'>, call: Pick<ToolCall, 'name' | 'arguments'>): string {
  return createHash('sha256').update([ctx.callId, ctx.turnId, ctx.scope, call.name, call.arguments].join('\n')).digest('hex').slice(0, 32);
}

/**
 * Results of finished runs, per call, for as long as a redelivery can come: a job redelivered
 * after its worker died (attempt > 1) reuses them instead of running a tool twice.
 */
const RESULTS_TTL_S = 3_600;
const resultsKey = (keys: Keys, callId: string) => keys.toolRuns(callId);

async function storedResult(deps: ToolRunDeps, callId: string, runId: string): Promise<{ output: string; ok: boolean } | null> {
  const raw = await deps.redis.hget(resultsKey(deps.keys, callId), runId);
  return raw ? (JSON.parse(raw) as { output: string; ok: boolean }) : null;
}

async function storeResult(deps: ToolRunDeps, callId: string, runId: string, result: { output: string; ok: boolean }): Promise<void> {
  const key = resultsKey(deps.keys, callId);
  await deps.redis.multi().hset(key, runId, JSON.stringify(result)).expire(key, RESULTS_TTL_S).exec();
}

export async function runToolCall(deps: ToolRunDeps, ctx: ToolRunContext, call: ToolCall): Promise<ToolResult> {
  const started = Date.now();
  const base = { call_id: call.id, name: call.name, arguments: call.arguments };
  const runId = toolRunId(ctx, call);
  const earlier = ctx.attempt > 1 ? await storedResult(deps, ctx.callId, runId) : null;
  if (earlier) {
    // Ran to the end before this job's first worker died: the result stands, the tool is not run again.
    await deps.stageLog.write({ call_id: ctx.callId, turn_id: ctx.turnId, stage: 'tool', event: earlier.ok ? 'completed' : 'failed', attempt: ctx.attempt, duration_ms: 0, data: { ...base, output: earlier.output, reused: true } });
    return { ...base, ...earlier, duration_ms: 0 };
  }
  // The log entries, the stored result and the audit entry go out alongside the run and are
  // awaited together at the end: one round trip after the tool, not four in a row.
  const writes = new WriteBatch();
  writes.add(deps.stageLog.write({ call_id: ctx.callId, turn_id: ctx.turnId, stage: 'tool', event: 'started', attempt: ctx.attempt, data: { ...base } }));
  let output: string;
  let ok = true;
  try {
    output = JSON.stringify(await execute(deps, ctx, call, runId));
  } catch (err) {
    ok = false;
    output = JSON.stringify({ error: err instanceof ToolError ? err.message : `Tool '${call.name}' failed: ${(err as Error).message}` });
  }
  const duration_ms = Date.now() - started;
  // A run cut short by a cancel is not a result anyone should reuse. (Stored before the caller
  // appends the round to the history: same call, same connection, sent first.)
  if (!ctx.signal.aborted) writes.add(storeResult(deps, ctx.callId, runId, { output, ok }));
  writes.add(
    deps.stageLog.write({
      call_id: ctx.callId,
      turn_id: ctx.turnId,
      stage: 'tool',
      event: ok ? 'completed' : 'failed',
      attempt: ctx.attempt,
      duration_ms,
      data: { ...base, output },
    }),
  );
  if (deps.audit) {
    writes.add(
      deps.audit.append(ctx.business, {
        type: 'tool.call',
        actor: 'system',
        call_id: ctx.callId,
        data: { turn_id: ctx.turnId, tool_call_id: call.id, name: call.name, arguments: call.arguments, output, ok, duration_ms, attempt: ctx.attempt },
      }),
    );
  }
  await writes.flush();
  return { ...base, output, ok, duration_ms };
}

async function execute(deps: ToolRunDeps, ctx: ToolRunContext, call: ToolCall, runId: string): Promise<unknown> {
  // The business's definition first (its name wins), then the ones the call's session offered.
  const tool = ctx.business.session.tools.find((t) => t.name === call.name) ?? ctx.tools?.find((t) => t.name === call.name);
  if (!tool) throw new ToolError(`Unknown tool '${call.name}'.`);
  let args: unknown;
  try {
    args = JSON.parse(call.arguments || '{}');
  } catch {
    throw new ToolError(`Arguments for '${call.name}' are not valid JSON.`);
  }
  const validate = validatorFor(tool.parameters ?? { type: 'object' });
  if (!validate(args)) {
    const e = validate.errors?.[0];
    throw new ToolError(`Invalid arguments for '${call.name}': ${e?.instancePath || '(root)'} ${e?.message ?? 'is invalid'}.`);
  }
  const handler = toolHandlerFor(ctx.business, call.name, ctx.tools);
  switch (handler.type) {
    case 'builtin': {
      const fn = BUILTIN_HANDLERS[call.name];
      if (!fn) throw new ToolError(`Tool '${call.name}' has no builtin handler; configure tool_handlers.${call.name}.`);
      return fn(args as Record<string, unknown>, {
        businessId: ctx.business.id,
        callId: ctx.callId,
        lookup: ctx.business.lookup_customer,
        verifiedCallerId: async () => {
          // Set only by the Twilio route (POST /v1/calls refuses these metadata keys).
          const m = (await deps.calls?.get(ctx.callId))?.metadata;
          return m?.channel === 'twilio' && typeof m.from === 'string' ? toE164(m.from) : null;
        },
        getCustomer: (b, phone) => deps.businesses.getCustomer(b, phone),
        saveTicket: async (b, ticket) => {
          await deps.redis.rpush(deps.keys.tickets(b), JSON.stringify(ticket));
        },
        requestCallAction: async (action, reason) => {
          if (!ctx.requestCallAction) throw new ToolError(`'${call.name}' is not available on this call.`);
          await ctx.requestCallAction(action, reason);
        },
      });
    }
    case 'webhook':
      return callWebhook(handler, { call_id: ctx.callId, business_id: ctx.business.id, tool: call.name, call_id_tool: call.id, arguments: args }, ctx.signal, runId, {
        ...DEFAULT_WEBHOOK_POLICY,
        allow: deps.config?.webhookAllowCidrs ?? [],
      });
    case 'client':
      // A client tool's call ends the response; the client answers it (docs/DESIGN.md §7). Never run here.
      throw new ToolError(`'${call.name}' is the client's tool; the service does not run it.`);
  }
}
