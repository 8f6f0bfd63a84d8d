/**
 * The local provider's "language model": a handful of keyword rules over the last message, so a
 * typed turn gets a real answer that exercises the customer-support tools (a phone number →
 * lookup_customer, a problem → create_ticket, a person → transfer_to_human, bye → end_call), and
 * everything else an honest "I am rules, not a model". Pure: messages in, reply out.
 */
import { messageText, type ChatMessage, type ChatReply, type ChatRequestBody } from './chat-wire';

/** The transcript of any audio: the local provider has no speech model and says so rather than invent words. */
export const NO_SPEECH_RECOGNITION = '[local provider: no speech recognition]';

export const NO_STT_ANSWER =
  "I heard you, but I'm the built-in local demo provider and I have no speech recognition, so I can't tell what you said. " +
  'For real transcription, restart the service with OPENAI_API_KEY set, or point STT_BASE_URL at a Whisper compatible server, as the README explains. ' +
  'Until then, type your message and I will answer it.';

export const GREETING = "Hello! I'm the local demo agent. Give me your phone number, tell me about a problem, or ask for a person.";

const HELP =
  "I'm the local demo agent: simple rules, no language model. I can look up a customer by phone number, open a support ticket, " +
  'transfer you to a person, or end the call. Try typing your phone number.';

const HOURS = 'The demo support line is open Monday to Friday, 9 AM to 5 PM. This is a made-up answer from the local demo provider.';

const FALLBACK =
  "I'm the local demo provider: keyword rules instead of a language model, so I can't really answer that. " +
  'I can look up your phone number, open a ticket, or get you a person. For real answers, set OPENAI_API_KEY or LLM_BASE_URL.';

/** 7 to 15 digits, with the separators people type: +1 (555) 010-0123, 555 0100, 5550100123. */
const PHONE = /\+?\d[\d\s().-]{5,18}\d/;

type Rule = { test: RegExp; answer: (text: string, tools: Set<string>) => ChatReply };

const RULES: Rule[] = [
  { test: /\b(bye|goodbye|good-bye|hang up|that's all|that is all)\b/, answer: (_t, tools) => toolOr(tools, 'end_call', { reason: 'the caller said goodbye' }, 'Goodbye! Thanks for trying the demo.') },
  {
    test: /\b(human|agent|person|someone real|representative|operator)\b/,
    answer: (text, tools) => toolOr(tools, 'transfer_to_human', { reason: clip(text, 200) }, "I'd transfer you to a person, but this business has no transfer tool."),
  },
  {
    test: PHONE,
    answer: (text, tools) => {
      const phone = (PHONE.exec(text)?.[0] ?? '').replace(/[\s().-]/g, '');
      return toolOr(tools, 'lookup_customer', { phone_number: phone }, "I'd look that number up, but this business has no lookup tool.", 'Let me look up that number.');
    },
  },
  {
    test: /\b(ticket|problem|issue|broken|not working|doesn't work|does not work|complain\w*|bug|error)\b/,
    answer: (text, tools) => {
      const priority = /\b(urgent|emergency|asap|immediately)\b/.test(text.toLowerCase()) ? 'urgent' : 'normal';
      return toolOr(tools, 'create_ticket', { summary: clip(text.padEnd(3, '.'), 500), priority }, "I'd open a ticket, but this business has no ticket tool.", "I'm sorry to hear that. Let me open a ticket.");
    },
  },
  { test: /\b(hours|opening|open today|when are you open|closing time)\b/, answer: () => ({ text: HOURS }) },
  { test: /\b(help|what can you do|who are you|what are you)\b/, answer: () => ({ text: HELP }) },
  { test: /^\W*(hello|hi|hey|good (morning|afternoon|evening)|howdy)\b/, answer: () => ({ text: GREETING }) },
];

/** The reply to a chat-completions request, from its last messages and the tools it offers. */
export function localAnswer(body: Pick<ChatRequestBody, 'messages' | 'tools'>): ChatReply {
  const { messages } = body;
  if (messages[messages.length - 1]?.role === 'tool') return { text: describeToolResults(messages) };
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const text = messageText(lastUser).trim();
  if (text.includes(NO_SPEECH_RECOGNITION)) return { text: NO_STT_ANSWER };
  if (!text) return { text: GREETING };
  const lower = text.toLowerCase();
  const tools = offeredTools(body.tools);
  for (const rule of RULES) if (rule.test.test(lower)) return rule.answer(text, tools);
  return { text: FALLBACK };
}

/** Tool names in either shape: chat's `{type, function: {name}}` or the flat realtime `{type, name}`. */
export function offeredTools(tools: unknown[] | undefined): Set<string> {
  const names = new Set<string>();
  for (const t of tools ?? []) {
    if (typeof t !== 'object' || t === null) continue;
    const fn = (t as { function?: { name?: unknown } }).function;
    const name = fn?.name ?? (t as { name?: unknown }).name;
    if (typeof name === 'string') names.add(name);
  }
  return names;
}

function toolOr(tools: Set<string>, name: string, args: object, missing: string, preface?: string): ChatReply {
  if (!tools.has(name)) return { text: missing };
  return { ...(preface && { text: preface }), tool_calls: [{ name, arguments: args }] };
}

/** One sentence per trailing tool result, named by the assistant message that called it. */
function describeToolResults(messages: ChatMessage[]): string {
  const names = new Map<string, string>();
  for (const m of messages) for (const c of m.tool_calls ?? []) names.set(c.id, c.function.name);
  const results: ChatMessage[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]?.role === 'tool'; i--) results.unshift(messages[i]!);
  return results.map((r) => describeResult(names.get(r.tool_call_id ?? '') ?? 'tool', messageText(r))).join(' ');
}

function describeResult(tool: string, output: string): string {
  let result: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(output);
    if (typeof parsed === 'object' && parsed !== null) result = parsed as Record<string, unknown>;
  } catch {
    // not JSON: said as it is below
  }
  if (typeof result.error === 'string') return `The ${spoken(tool)} tool failed: ${clip(result.error, 160)}.`;
  if (tool === 'lookup_customer') {
    const customer = result.customer as { name?: unknown; account_id?: unknown } | undefined;
    if (result.found === true && customer) {
      const account = typeof customer.account_id === 'string' ? `, account ${customer.account_id}` : '';
      return `I found you: ${String(customer.name ?? 'a customer')}${account}. How can I help?`;
    }
    return `I couldn't find a customer with the number ${String(result.phone_number ?? 'you gave')}.`;
  }
  if (tool === 'create_ticket' && result.created === true) return `I've opened ticket ${String(result.ticket_id)} for you. Someone will follow up.`;
  if (tool === 'transfer_to_human') return "I'm transferring you to a person now. Please hold.";
  if (tool === 'end_call') return 'Thanks for calling. Goodbye!';
  return `The ${spoken(tool)} tool answered: ${clip(output, 160)}.`;
}

function spoken(tool: string): string {
  return tool.replace(/_/g, ' ');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
