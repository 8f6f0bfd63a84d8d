/**
 * Agent-test scenarios (docs/DESIGN.md §10): the YAML format `voice-agent test` reads, and the checks
 * of a turn's expectations that need no provider (everything but `judge`). Pure but for reading
 * the file.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

export const Expectations = z
  .object({
    /** What the service heard the caller say (spoken turns): each must appear, case-insensitive. */
    transcript_contains: oneOrMany.optional(),
    /** The agent's answer: each must appear, case-insensitive. */
    response_contains: oneOrMany.optional(),
    /** A JavaScript regular expression the answer must match (case-insensitive). */
    response_matches: z
      .string()
      .refine((p) => {
        try {
          new RegExp(p, 'i');
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression')
      .optional(),
    /** Each must be among the turn's tool calls: same name, and these arguments (a subset) with these values. */
    tool_calls: z.array(z.object({ name: z.string().min(1), arguments: z.record(z.string(), z.unknown()).optional() }).strict()).optional(),
    no_tool_calls: z.boolean().optional(),
    max_first_audio_ms: z.number().positive().optional(),
    /** A sentence the service's LLM grades the answer against (pass/fail with its reason). */
    judge: z.string().min(1).optional(),
  })
  .strict();
export type Expectations = z.output<typeof Expectations>;

export const ScenarioTurn = z
  .object({
    /** Text spoken into the call as the caller's voice (synthesised with the TTS provider). */
    say: z.string().min(1).optional(),
    /** A PCM16 WAV file spoken into the call (relative to the scenario file). */
    audio: z.string().min(1).optional(),
    /** A typed message (conversation.item.create with input_text). */
    text: z.string().min(1).optional(),
    expect: Expectations.default({}),
  })
  .strict()
  .refine((t) => [t.say, t.audio, t.text].filter((v) => v !== undefined).length === 1, 'a turn has exactly one of say, audio, text');
export type ScenarioTurn = z.output<typeof ScenarioTurn>;

export const Scenario = z
  .object({
    name: z.string().min(1).optional(),
    /** A business id, or `{config: {...}}`: a business config applied to a temporary business. */
    business: z.union([z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a business id'), z.object({ config: z.record(z.string(), z.unknown()) }).strict()]),
    /** Session overrides for the call (as POST /v1/calls takes them). */
    session: z.record(z.string(), z.unknown()).optional(),
    turns: z.array(ScenarioTurn).min(1),
  })
  .strict();
export type Scenario = z.output<typeof Scenario>;

export class ScenarioError extends Error {}

/** Reads and validates a scenario file; a ScenarioError names the file and the field. */
export function loadScenario(path: string): Scenario {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ScenarioError(`${path}: ${(err as Error).message}`);
  }
  const r = Scenario.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ScenarioError(`${path}: ${issue.path.join('.') || 'scenario'}: ${issue.message}`);
  }
  return r.data;
}

export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** What a turn produced, as the runner saw it. */
export interface TurnOutcome {
  said: string;
  /** What the service transcribed (spoken turns), or null. */
  transcript: string | null;
  response: string;
  toolCalls: ToolCall[];
  /** From the end of the caller's turn to the first audio delta; null when no audio came. */
  firstAudioMs: number | null;
  /** The response's status (completed, cancelled, failed…) or an error that ended the turn. */
  status: string;
  /** The whole turn: sending the caller's part to the end of the answer. */
  durationMs: number;
}

/** The failed expectations of a turn (empty: all held), `judge` aside. */
export function checkTurn(o: TurnOutcome, e: Expectations): string[] {
  const failures: string[] = [];
  const has = (hay: string, needle: string) => hay.toLowerCase().includes(needle.toLowerCase());
  if (o.status !== 'completed') failures.push(`the response ended ${o.status}`);
  for (const want of e.transcript_contains ?? []) {
    if (o.transcript === null) failures.push(`transcript_contains "${want}": the turn has no transcript (only say/audio turns do)`);
    else if (!has(o.transcript, want)) failures.push(`transcript_contains "${want}": heard "${o.transcript}"`);
  }
  for (const want of e.response_contains ?? []) {
    if (!has(o.response, want)) failures.push(`response_contains "${want}": the answer was "${o.response}"`);
  }
  if (e.response_matches !== undefined && !new RegExp(e.response_matches, 'i').test(o.response)) {
    failures.push(`response_matches /${e.response_matches}/: the answer was "${o.response}"`);
  }
  for (const want of e.tool_calls ?? []) {
    const ok = o.toolCalls.some((c) => c.name === want.name && isSubset(want.arguments ?? {}, c.arguments));
    if (!ok) failures.push(`tool_calls ${want.name}${want.arguments ? ` ${JSON.stringify(want.arguments)}` : ''}: called ${describeCalls(o.toolCalls)}`);
  }
  if (e.no_tool_calls && o.toolCalls.length > 0) failures.push(`no_tool_calls: called ${describeCalls(o.toolCalls)}`);
  if (e.max_first_audio_ms !== undefined) {
    if (o.firstAudioMs === null) failures.push(`max_first_audio_ms ${e.max_first_audio_ms}: no audio came`);
    else if (o.firstAudioMs > e.max_first_audio_ms) failures.push(`max_first_audio_ms ${e.max_first_audio_ms}: first audio after ${Math.round(o.firstAudioMs)} ms`);
  }
  return failures;
}

function describeCalls(calls: ToolCall[]): string {
  return calls.length === 0 ? 'no tool' : calls.map((c) => `${c.name} ${JSON.stringify(c.arguments)}`).join(', ');
}

/** Whether every field of `want` is in `got` with an equal value (objects compared as subsets too). */
export function isSubset(want: unknown, got: unknown): boolean {
  if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
    if (got === null || typeof got !== 'object' || Array.isArray(got)) return false;
    return Object.entries(want).every(([k, v]) => isSubset(v, (got as Record<string, unknown>)[k]));
  }
  if (Array.isArray(want)) return Array.isArray(got) && want.length === got.length && want.every((v, i) => isSubset(v, got[i]));
  return want === got;
}

/** The judge's verdict from its answer: a first word PASS or FAIL, then the reason. */
export function parseVerdict(answer: string): { pass: boolean; reason: string } | null {
  const m = /^\W*(PASS|FAIL)\b\W*([\s\S]*)$/i.exec(answer.trim());
  return m ? { pass: m[1]!.toUpperCase() === 'PASS', reason: m[2]!.trim() || '(no reason given)' } : null;
}
