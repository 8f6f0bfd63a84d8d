/**
 * The per-turn latency waterfall (GET /v1/calls/:id/turns), from a call's stage log: each mark
 * in ms after the end of speech was detected — STT done → LLM first token → first TTS audio →
 * first audio sent to the caller.
 */
import type { StageLogEntry } from '../contracts/logs';

export interface TurnWaterfall {
  turn_id: string;
  speech_end_at: number | null;
  stt_done_ms: number | null;
  llm_first_token_ms: number | null;
  tts_first_audio_ms: number | null;
  first_audio_sent_ms: number | null;
  response_done_ms: number | null;
  cancelled: boolean;
  attempts: Record<string, number>;
}

export function waterfalls(entries: readonly StageLogEntry[]): TurnWaterfall[] {
  const byTurn = new Map<string, StageLogEntry[]>();
  for (const e of entries) {
    if (!e.turn_id) continue;
    let list = byTurn.get(e.turn_id);
    if (!list) byTurn.set(e.turn_id, (list = []));
    list.push(e);
  }
  return [...byTurn.entries()].map(([turn_id, list]) => {
    const first = (stage: string, event: string) => list.find((e) => e.stage === stage && e.event === event)?.ts ?? null;
    const speechEnd = first('vad', 'completed') ?? first('stt', 'queued') ?? first('llm', 'queued');
    const rel = (ts: number | null) => (ts === null || speechEnd === null ? null : ts - speechEnd);
    const attempts: Record<string, number> = {};
    for (const e of list) attempts[e.stage] = Math.max(attempts[e.stage] ?? 0, e.attempt);
    return {
      turn_id,
      speech_end_at: speechEnd,
      stt_done_ms: rel(first('stt', 'completed')),
      llm_first_token_ms: rel(first('llm', 'first_output')),
      tts_first_audio_ms: rel(first('tts', 'first_output')),
      first_audio_sent_ms: rel(first('gateway', 'first_output')),
      response_done_ms: rel(first('gateway', 'completed')),
      cancelled: list.some((e) => e.stage === 'gateway' && e.event === 'cancelled'),
      attempts,
    };
  });
}

/** `?format=text`: one aligned line per entry and a summary line per turn. */
export function formatTimeline(entries: readonly StageLogEntry[]): string {
  if (entries.length === 0) return '(no stage log entries)\n';
  const t0 = entries[0]!.ts;
  const lines: string[] = [];
  let lastTurn: string | null | undefined;
  for (const e of entries) {
    if (e.turn_id !== lastTurn && e.turn_id) lines.push(`── turn ${e.turn_id}`);
    lastTurn = e.turn_id;
    const at = `+${String(e.ts - t0).padStart(7)}ms`;
    const dur = e.duration_ms === null ? '' : `${e.duration_ms}ms`;
    const attempt = e.attempt > 1 ? ` attempt=${e.attempt}` : '';
    const data = Object.entries(e.data)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v) : JSON.stringify(v)}`)
      .join(' ');
    lines.push(`${at}  ${e.stage.padEnd(8)} ${e.event.padEnd(12)} ${dur.padStart(8)}${attempt}  ${data}`.trimEnd());
  }
  for (const w of waterfalls(entries)) {
    const f = (v: number | null) => (v === null ? '-' : `${v}ms`);
    lines.push(
      `turn ${w.turn_id}: stt ${f(w.stt_done_ms)} → llm first token ${f(w.llm_first_token_ms)} → tts first audio ${f(w.tts_first_audio_ms)} → first audio sent ${f(w.first_audio_sent_ms)}${w.cancelled ? ' (cancelled)' : ''}`,
    );
  }
  return lines.join('\n') + '\n';
}
