/**
 * Call records, client secrets, transcripts and conversation history in Redis. All call-scoped
 * keys expire CALL_TTL_S after the call's last write, so nothing outlives a crashed gateway.
 */
import { CallRecord, type TranscriptEntry } from '../contracts/call';
import type { Session } from '../contracts/session';
import { hashSecret, randomToken } from '../core/secrets';
import { getMany, writeAcrossSlots, type Keys, type Redis } from './redis';

export interface ChatHistoryEntry {
  item_id: string;
  turn_id: string;
  /** A chat-completions message: {role, content, tool_calls?, tool_call_id?}. */
  message: Record<string, unknown>;
}

/** Appends history entries once per marker, atomically: a re-delivered job cannot duplicate history. */
const APPEND_ONCE = `
if redis.call('HSETNX', KEYS[2], ARGV[1], '1') == 0 then return 0 end
for i = 3, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[2]); redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1`;

export class CallStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly ttlS: number,
    /** Output filtering of stored transcripts (the business's output_filter). */
    private readonly redactText: (callId: string, text: string) => Promise<string> = async (_id, text) => text,
    /** Runs once when a call goes from active to ended (the audit log's call.ended), with who ended it. */
    private readonly onEnded: (rec: CallRecord, actor: string) => Promise<void> = async () => {},
  ) {}

  async create(rec: CallRecord, clientSecretTtlS: number): Promise<{ value: string; expires_at: number }> {
    const value = `ek_${randomToken(24)}`;
    const expiresAt = Math.floor(Date.now() / 1000) + clientSecretTtlS;
    // The record before what points at it (on a cluster these are separate writes: four slots).
    await writeAcrossSlots(this.redis, (m) =>
      m
        .set(this.keys.call(rec.id), JSON.stringify(rec), 'EX', this.ttlS)
        .set(this.keys.clientSecret(hashSecret(value)), rec.id, 'EX', clientSecretTtlS)
        .zadd(this.keys.calls(), rec.created_at, rec.id)
        .zadd(this.keys.businessCalls(rec.business_id), rec.created_at, rec.id),
    );
    return { value, expires_at: expiresAt };
  }

  async get(id: string): Promise<CallRecord | null> {
    const raw = await this.redis.get(this.keys.call(id));
    return raw ? CallRecord.parse(JSON.parse(raw)) : null;
  }

  async update(rec: CallRecord): Promise<void> {
    await this.redis.set(this.keys.call(rec.id), JSON.stringify(rec), 'EX', this.ttlS);
  }

  async updateSession(id: string, session: Session): Promise<CallRecord | null> {
    const rec = await this.get(id);
    if (!rec) return null;
    rec.session = session;
    await this.update(rec);
    return rec;
  }

  /** Marks the call ended (idempotent); returns the record, or null when unknown. */
  async end(id: string, reason: string, actor = 'system'): Promise<CallRecord | null> {
    const rec = await this.get(id);
    if (!rec) return null;
    if (rec.status === 'ended') return rec;
    rec.status = 'ended';
    rec.ended_at = Date.now();
    rec.end_reason = reason;
    await this.update(rec);
    await this.redis.zrem(this.keys.activeCalls(rec.business_id), id);
    await this.onEnded(rec, actor);
    return rec;
  }

  /** Newest first; `businessId` limits to one business. Expired records are skipped and pruned. */
  async list(opts: { businessId?: string; limit?: number } = {}): Promise<CallRecord[]> {
    const index = opts.businessId ? this.keys.businessCalls(opts.businessId) : this.keys.calls();
    const ids = await this.redis.zrevrange(index, 0, (opts.limit ?? 100) - 1);
    if (ids.length === 0) return [];
    const raws = await getMany(this.redis, ids.map((id) => this.keys.call(id)));
    const gone = ids.filter((_, i) => !raws[i]);
    if (gone.length) await this.redis.zrem(index, ...gone);
    return raws.flatMap((r) => (r ? [CallRecord.parse(JSON.parse(r))] : []));
  }

  async resolveClientSecret(token: string): Promise<string | null> {
    return this.redis.get(this.keys.clientSecret(hashSecret(token)));
  }

  async appendTranscript(callId: string, e: TranscriptEntry): Promise<void> {
    const key = this.keys.callTranscript(callId);
    const entry = { ...e, text: await this.redactText(callId, e.text) };
    await this.redis.multi().rpush(key, JSON.stringify(entry)).expire(key, this.ttlS).exec();
  }

  /** Replaces (or adds, or with null removes) one turn's entry of a role: truncation after barge-in. */
  async setTurnTranscript(callId: string, turnId: string, role: TranscriptEntry['role'], text: string | null): Promise<void> {
    const key = this.keys.callTranscript(callId);
    const raws = await this.redis.lrange(key, 0, -1);
    const idx = raws.findIndex((r) => {
      const e = JSON.parse(r) as TranscriptEntry;
      return e.turn_id === turnId && e.role === role;
    });
    if (idx < 0) {
      if (text) await this.appendTranscript(callId, { ts: Date.now(), role, turn_id: turnId, text });
    } else if (text === null || text === '') {
      await this.redis.lrem(key, 1, raws[idx]!);
    } else {
      await this.redis.lset(key, idx, JSON.stringify({ ...(JSON.parse(raws[idx]!) as TranscriptEntry), text }));
    }
  }

  async transcript(callId: string): Promise<TranscriptEntry[]> {
    return (await this.redis.lrange(this.keys.callTranscript(callId), 0, -1)).map((s) => JSON.parse(s) as TranscriptEntry);
  }

  async history(callId: string): Promise<ChatHistoryEntry[]> {
    return (await this.redis.lrange(this.keys.callHistory(callId), 0, -1)).map((s) => JSON.parse(s) as ChatHistoryEntry);
  }

  /** Appends entries unless `marker` was already used for this call. Returns whether it appended. */
  async appendHistoryOnce(callId: string, marker: string, entries: ChatHistoryEntry[]): Promise<boolean> {
    const res = await this.redis.eval(
      APPEND_ONCE,
      2,
      this.keys.callHistory(callId),
      this.keys.callMarkers(callId),
      marker,
      String(this.ttlS),
      ...entries.map((e) => JSON.stringify(e)),
    );
    return res === 1;
  }

  /** Replaces one history entry's message, or removes the entry when `message` is null (barge-in truncation). */
  async rewriteHistoryItem(callId: string, itemId: string, message: Record<string, unknown> | null): Promise<boolean> {
    const key = this.keys.callHistory(callId);
    const raws = await this.redis.lrange(key, 0, -1);
    const idx = raws.findIndex((r) => (JSON.parse(r) as ChatHistoryEntry).item_id === itemId);
    if (idx < 0) return false;
    if (message === null) {
      await this.redis.lrem(key, 1, raws[idx]!);
    } else {
      await this.redis.lset(key, idx, JSON.stringify({ ...(JSON.parse(raws[idx]!) as ChatHistoryEntry), message }));
    }
    return true;
  }
}
