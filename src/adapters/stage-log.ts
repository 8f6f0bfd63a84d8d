/**
 * A call's stage log: one Redis stream per call, one entry per stage event
 * ({ts, call_id, turn_id, stage, event, duration_ms, attempt, worker, data}). Users read it through
 * GET /v1/calls/:id/logs; operators read the process log instead.
 */
import type { LogEvent, LogStage, StageLogEntry } from '../contracts/logs';
import { observeStageEntry } from '../metrics/stage-metrics';
import { containsText } from '../core/redact';
import { ExpiryRefresher, type Keys, type Redis } from './redis';

export interface StageLogInput {
  call_id: string;
  turn_id?: string | null;
  stage: LogStage;
  event: LogEvent;
  duration_ms?: number | null;
  attempt?: number;
  data?: Record<string, unknown>;
}

/** Bound per call: a long call keeps its last 10k entries. */
const MAX_ENTRIES = 10_000;

export class StageLog {
  /** Redacts user content (transcripts, arguments) before it is stored; set per business by the caller. */
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly ttlS: number,
    readonly worker: string,
    private readonly redact: (callId: string, data: Record<string, unknown>) => Promise<Record<string, unknown>> = async (_id, data) => data,
  ) {
    this.expiry = new ExpiryRefresher(redis);
  }

  private readonly expiry: ExpiryRefresher;

  entry(e: StageLogInput): StageLogEntry {
    return {
      ts: Date.now(),
      call_id: e.call_id,
      turn_id: e.turn_id ?? null,
      stage: e.stage,
      event: e.event,
      duration_ms: e.duration_ms ?? null,
      attempt: e.attempt ?? 1,
      worker: this.worker,
      data: e.data ?? {},
    };
  }

  /** The last write per call: redaction may need a lookup, and entries must still land in order. */
  private readonly pending = new Map<string, Promise<unknown>>();

  async write(e: StageLogInput): Promise<StageLogEntry> {
    const entry = this.entry(e);
    const key = this.keys.callLog(e.call_id);
    const prev = this.pending.get(e.call_id);
    const done = (async () => {
      if (prev) await prev;
      if (containsText(entry.data)) entry.data = await this.redact(e.call_id, entry.data);
      const written = this.redis.xadd(key, 'MAXLEN', '~', MAX_ENTRIES, '*', 'e', JSON.stringify(entry));
      this.expiry.touch(key, this.ttlS);
      await written;
    })();
    const settled = done.catch(() => {});
    this.pending.set(e.call_id, settled);
    try {
      await done;
    } finally {
      if (this.pending.get(e.call_id) === settled) this.pending.delete(e.call_id);
    }
    // Every stage in every mode writes here, so this one hook feeds the per-stage metrics.
    observeStageEntry(entry, async (callId) => (await this.read(callId)).map((r) => r.entry));
    return entry;
  }

  /** The Redis stream of a call's entries (followed live by GET /v1/calls/:id/logs?follow=1). */
  keyOf(callId: string): string {
    return this.keys.callLog(callId);
  }

  /** One stream entry's fields as the entry. */
  static decode(fields: string[]): StageLogEntry {
    return JSON.parse(fields[1] ?? '{}') as StageLogEntry;
  }

  /** Entries after `afterId` (exclusive), oldest first, with their stream ids. */
  async read(callId: string, afterId = '-', count = 10_000): Promise<{ id: string; entry: StageLogEntry }[]> {
    const start = afterId === '-' ? '-' : `(${afterId}`;
    const rows = await this.redis.xrange(this.keys.callLog(callId), start, '+', 'COUNT', count);
    return rows.map(([id, fields]) => ({ id, entry: StageLog.decode(fields) }));
  }
}
