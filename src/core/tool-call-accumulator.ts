/**
 * Accumulates streamed chat-completions tool calls (docs/PROTOCOLS.md §3): fragments are grouped by
 * `index`; id, type and name come only in a call's first fragment; arguments are concatenated.
 * Some compatible servers reuse index 0 for every call, so a new `id` always starts a new call.
 */
export interface ToolCallFragment {
  index: number;
  id?: string | undefined;
  type?: string | undefined;
  function?: { name?: string | undefined; arguments?: string | undefined } | undefined;
}

export interface CompletedToolCall {
  id: string;
  name: string;
  arguments: string;
}

export class ToolCallAccumulator {
  private readonly calls: { id: string; name: string; args: string }[] = [];
  private readonly byIndex = new Map<number, { id: string; name: string; args: string }>();

  /** Returns the call the fragment belongs to and the argument text it added. */
  push(f: ToolCallFragment): { id: string; name: string; delta: string; isNew: boolean } {
    let call = this.byIndex.get(f.index);
    let isNew = false;
    if (!call || (f.id && f.id !== call.id)) {
      call = { id: f.id ?? `call_${this.calls.length}`, name: f.function?.name ?? '', args: '' };
      this.calls.push(call);
      this.byIndex.set(f.index, call);
      isNew = true;
    } else if (f.function?.name && !call.name) {
      call.name = f.function.name;
    }
    const delta = f.function?.arguments ?? '';
    call.args += delta;
    return { id: call.id, name: call.name, delta, isNew };
  }

  finish(): CompletedToolCall[] {
    return this.calls.map((c) => ({ id: c.id, name: c.name, arguments: c.args || '{}' }));
  }
}
