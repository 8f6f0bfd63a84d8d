/**
 * A conversation history as the chat-completions API accepts it. The realtime client can delete
 * items (a function call, its output) or answer a function call late or never; the chat API
 * refuses an assistant tool call without its tool message and a tool message without its call.
 * Unanswered calls and orphaned answers are left out, as OpenAI's realtime model ignores them.
 */
export interface ChatLikeMessage {
  role: string;
  content?: unknown;
  tool_calls?: { id: string }[];
  tool_call_id?: string;
}

export function answeredToolCalls<M extends ChatLikeMessage>(messages: readonly M[]): M[] {
  // A call is answered by a tool message after it.
  const seen = new Set<string>();
  const answered = new Set<string>();
  for (const m of messages) {
    for (const c of m.tool_calls ?? []) seen.add(c.id);
    if (m.role === 'tool' && m.tool_call_id && seen.has(m.tool_call_id)) answered.add(m.tool_call_id);
  }
  const called = new Set<string>();
  const out: M[] = [];
  for (const m of messages) {
    if (m.role === 'assistant' && m.tool_calls) {
      const kept = m.tool_calls.filter((c) => answered.has(c.id));
      for (const c of kept) called.add(c.id);
      if (kept.length === m.tool_calls.length) out.push(m);
      else if (kept.length > 0) out.push({ ...m, tool_calls: kept });
      else if (m.content) {
        const { tool_calls: _dropped, ...rest } = m;
        out.push(rest as M);
      }
    } else if (m.role === 'tool') {
      if (m.tool_call_id && called.has(m.tool_call_id)) out.push(m);
    } else {
      out.push(m);
    }
  }
  return out;
}
