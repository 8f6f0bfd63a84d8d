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

/** Column widths of the text timeline. */
const W = { at: 9, turn: 4, stage: 8, event: 12, dur: 8, wait: 7 } as const;
const HIDDEN_DATA = new Set(['queue_wait_ms']);

const ms = (v: number | null) => (v === null ? '-' : `${Math.round(v)}ms`);

function dataText(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([k]) => !HIDDEN_DATA.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v) : JSON.stringify(v)}`)
    .join(' ');
}

/** One summary line for a turn: where the time to first audio went, and how the turn ended. */
function turnSummary(label: string, w: TurnWaterfall): string {
  const marks = [
    ['stt', w.stt_done_ms],
    ['llm', w.llm_first_token_ms],
    ['tts', w.tts_first_audio_ms],
    ['send', w.first_audio_sent_ms],
  ] as const;
  // Each stage's share of the wait for first audio: the gap since the previous mark that was reached.
  const parts: string[] = [];
  let prev = 0;
  for (const [name, v] of marks) {
    if (v === null) continue;
    parts.push(`${name} ${Math.round(v - prev)}`);
    prev = v;
  }
  const first = w.first_audio_sent_ms ?? w.tts_first_audio_ms ?? w.llm_first_token_ms;
  const head = first === null ? 'no audio' : `first audio ${ms(first)}${parts.length ? ` = ${parts.join(' + ')}` : ''}`;
  const tail = [
    w.response_done_ms !== null ? `done ${ms(w.response_done_ms)}` : null,
    // A turn both done and cancelled was cut by a barge-in while the caller was still hearing it.
    w.cancelled ? (w.response_done_ms !== null ? 'completed, cut by barge-in during playback' : 'cancelled') : w.response_done_ms !== null ? 'completed' : null,
    ...Object.entries(w.attempts)
      .filter(([, n]) => n > 1)
      .map(([stage, n]) => `${stage} attempts=${n}`),
  ].filter((x): x is string => x !== null);
  return `${'═'.repeat(2)} ${label.padEnd(W.turn)} ${head}${tail.length ? ` │ ${tail.join(' │ ')}` : ''}`;
}

/** "1 turn", "2 turns". */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Which queued job a `started` entry ends the wait of: one per turn, stage and (TTS) sentence. */
function jobKey(e: StageLogEntry): string {
  return `${e.turn_id ?? ''}|${e.stage}|${typeof e.data.seq === 'number' ? e.data.seq : ''}`;
}

/** Entries in time order; entries with the same ts keep the order they were written in. */
function inTimeOrder(entries: readonly StageLogEntry[]): StageLogEntry[] {
  return entries.map((e, i) => [e, i] as const).sort((a, b) => a[0].ts - b[0].ts || a[1] - b[1]).map(([e]) => e);
}

/**
 * Formats stage-log entries one line at a time (the text timeline and `voice-agent logs --follow`):
 * time since the first entry, a short turn label (T1, T2 … introduced by a header line), stage,
 * event, duration, queue wait, and the entry's data.
 */
export class TimelineFormatter {
  private t0: number | null = null;
  private readonly labels = new Map<string, string>();
  /** When each job was queued (or put back for a retry), until its `started` entry. */
  private readonly waiting = new Map<string, number>();

  header(): string {
    return `${'time'.padStart(W.at)}  ${'turn'.padEnd(W.turn)} ${'stage'.padEnd(W.stage)} ${'event'.padEnd(W.event)} ${'took'.padStart(W.dur)} ${'wait'.padStart(W.wait)}  details`;
  }

  label(turnId: string): string {
    return this.labels.get(turnId) ?? `T${this.labels.size + 1}`;
  }

  /**
   * A `started` entry's queue wait: from the timeline's own queued (or retry) line when there is
   * one, so the column is the difference of the two times printed; else what the worker measured.
   */
  private waitOf(e: StageLogEntry): number | null {
    const key = jobKey(e);
    if (e.event === 'queued' || e.event === 'retry') {
      this.waiting.set(key, e.ts);
      return null;
    }
    if (e.event !== 'started') return null;
    const since = this.waiting.get(key);
    this.waiting.delete(key);
    if (since !== undefined && since <= e.ts) return e.ts - since;
    return typeof e.data.queue_wait_ms === 'number' ? e.data.queue_wait_ms : null;
  }

  /** The entry's line, preceded by a header line the first time its turn appears. */
  lines(e: StageLogEntry): string[] {
    const out: string[] = [];
    this.t0 ??= e.ts;
    let turn = '';
    if (e.turn_id) {
      turn = this.label(e.turn_id);
      if (!this.labels.has(e.turn_id)) {
        this.labels.set(e.turn_id, turn);
        out.push(`── ${turn} ${e.turn_id}`);
      }
    }
    const at = `+${((e.ts - this.t0) / 1000).toFixed(3)}s`.padStart(W.at);
    const waited = this.waitOf(e);
    const wait = waited === null ? '' : ms(waited);
    const attempt = e.attempt > 1 ? ` #${e.attempt}` : '';
    const dur = e.duration_ms === null ? '' : ms(e.duration_ms);
    out.push(
      `${at}  ${turn.padEnd(W.turn)} ${e.stage.padEnd(W.stage)} ${(e.event + attempt).padEnd(W.event)} ${dur.padStart(W.dur)} ${wait.padStart(W.wait)}  ${dataText(e.data)}`.trimEnd(),
    );
    return out;
  }
}

/**
 * `?format=text`: a column header, one aligned line per entry in time order, and after each turn's
 * last entry a summary line (time to first audio split by stage, total, outcome).
 */
export function formatTimeline(unordered: readonly StageLogEntry[]): string {
  if (unordered.length === 0) return '(no stage log entries)\n';
  // The log is in the order entries were written, by several processes: time order is what a reader expects.
  const entries = inTimeOrder(unordered);
  const f = new TimelineFormatter();
  const byTurn = new Map(waterfalls(entries).map((w) => [w.turn_id, w]));
  const lastIndex = new Map<string, number>();
  entries.forEach((e, i) => e.turn_id && lastIndex.set(e.turn_id, i));
  const first = entries[0]!;
  const span = (entries[entries.length - 1]!.ts - first.ts) / 1000;
  const lines = [
    `call ${first.call_id} · ${new Date(first.ts).toISOString()} · ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'} · ${plural(byTurn.size, 'turn')} · ${span.toFixed(3)}s`,
    f.header(),
  ];
  entries.forEach((e, i) => {
    lines.push(...f.lines(e));
    const w = e.turn_id ? byTurn.get(e.turn_id) : undefined;
    if (w && lastIndex.get(w.turn_id) === i) lines.push(turnSummary(f.label(w.turn_id), w));
  });
  return lines.join('\n') + '\n';
}

/**
 * `voice-agent logs --follow`: lines as entries arrive. A turn's summary waits until the turn has
 * ended (the gateway's completed / cancelled entry) and the log has moved on to another turn, or the
 * stream ends — so it comes after the turn's last entry (workers often log after the gateway).
 */
export class FollowTimeline {
  private readonly f = new TimelineFormatter();
  private readonly entries = new Map<string, StageLogEntry[]>();
  private readonly ended = new Set<string>();

  header(): string {
    return this.f.header();
  }

  push(e: StageLogEntry): string[] {
    const out: string[] = [];
    if (e.turn_id !== null) out.push(...this.flush(e.turn_id));
    out.push(...this.f.lines(e));
    if (e.turn_id !== null) {
      const list = this.entries.get(e.turn_id) ?? [];
      list.push(e);
      this.entries.set(e.turn_id, list);
      if (e.stage === 'gateway' && (e.event === 'completed' || e.event === 'cancelled')) this.ended.add(e.turn_id);
    }
    return out;
  }

  /** The summaries still owed (the stream ended). */
  end(): string[] {
    return this.flush(null);
  }

  /** Summaries of the ended turns other than `current`. */
  private flush(current: string | null): string[] {
    const out: string[] = [];
    for (const turnId of [...this.ended]) {
      if (turnId === current) continue;
      this.ended.delete(turnId);
      const w = waterfalls(this.entries.get(turnId) ?? [])[0];
      this.entries.delete(turnId);
      if (w) out.push(turnSummary(this.f.label(turnId), w));
    }
    return out;
  }
}
