/**
 * Server-side tools in realtime mode. When the upstream finishes a function call whose handler is
 * builtin or webhook, the gateway runs it with chained mode's executor (same argument checks, same
 * stage-log `tool` entries) as soon as the arguments are complete; once that response is done, the
 * results go upstream as function_call_output items followed by one response.create — the order
 * OpenAI requires (§1.4: no reply follows an output until response.create). `client` handlers are
 * left to the client, as in OpenAI's own protocol, and so are tools the client declared itself.
 */
import type { Business } from '../../contracts/business';
import type { ConversationItem, ServerEvent } from '../../contracts/realtime';
import { serverEvents } from '../../core/protocol';
import type { UpstreamClientEvent } from '../../core/protocol';
import { runToolCall, type ToolResult, type ToolRunDeps } from '../../tools/executor';
import { clientToolOutput } from '../../security/tool-output';
import { toolHandlerFor } from '../../tools/tool-handler';

type FunctionCallItem = Extract<ConversationItem, { type: 'function_call' }>;

export interface ToolRunnerDeps {
  tools: ToolRunDeps;
  business: Business;
  callId: string;
  send(event: ServerEvent): void;
  sendUpstream(event: UpstreamClientEvent): void;
  /** end_call / transfer_to_human: the call carries it out once the answer has played. */
  requestCallAction(action: 'transfer' | 'end', reason: string | undefined): Promise<void>;
}

export class ToolRunner {
  /** Tool runs by the response that asked for them. */
  private readonly pending = new Map<string, Promise<ToolResult>[]>();
  private readonly serverCalls = new Set<string>();
  private readonly abort = new AbortController();

  constructor(private readonly d: ToolRunnerDeps) {}

  /** call_ids the gateway runs (the guards refuse client outputs for them). */
  get serverCallIds(): ReadonlySet<string> {
    return this.serverCalls;
  }

  /** Business tools run here; client-declared ones (and `client` handlers) are the client's (toolHandlerFor). */
  isServerSide(name: string): boolean {
    return toolHandlerFor(this.d.business, name).type !== 'client';
  }

  /** A finished function_call item from the upstream: run it now if it is ours. */
  onFunctionCall(responseId: string, item: FunctionCallItem, turnId: string | null): void {
    if (!this.isServerSide(item.name) || this.serverCalls.has(item.call_id)) return;
    this.serverCalls.add(item.call_id);
    const run = runToolCall(
      this.d.tools,
      {
        business: this.d.business,
        callId: this.d.callId,
        turnId: turnId ?? responseId,
        scope: item.call_id,
        signal: this.abort.signal,
        attempt: 1,
        requestCallAction: (action, reason) => this.d.requestCallAction(action, reason),
      },
      { id: item.call_id, name: item.name, arguments: item.arguments },
    ).then((r) => {
      this.d.send(serverEvents.functionCallDone({ ...r, output: clientToolOutput(this.d.business, r.output), response_id: responseId, ...(item.id ? { item_id: item.id } : {}) }));
      return r;
    });
    const list = this.pending.get(responseId) ?? [];
    list.push(run);
    this.pending.set(responseId, list);
  }

  /**
   * The response is done: hand the results back and ask for the reply that uses them. A
   * response cancelled by barge-in still gets its outputs (the calls are in the conversation),
   * but the next reply is the one the caller's new turn starts.
   */
  async onResponseDone(responseId: string, status: string): Promise<boolean> {
    const runs = this.pending.get(responseId);
    if (!runs) return false;
    this.pending.delete(responseId);
    const results = await Promise.all(runs);
    if (this.abort.signal.aborted) return false;
    for (const r of results) {
      this.d.sendUpstream({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: r.call_id, output: r.output } });
    }
    if (status === 'completed') this.d.sendUpstream({ type: 'response.create' });
    return true;
  }

  close(): void {
    this.abort.abort();
  }
}
