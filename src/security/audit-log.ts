/**
 * The per-business audit log: one Redis stream per business, append-only (no route deletes or
 * edits entries), trimmed to the retention window on every append and expiring as a whole when a
 * business writes nothing for that long. Entries are redacted with the business's output filter.
 */
import type { Business } from '../contracts/business';
import { AuditEntry, type AuditQuery, type AuditType } from '../contracts/audit';
import { redactDeep } from '../core/redact';
import type { Keys, Redis } from '../adapters/redis';
import { redactorFor, type CallFilters } from './call-filters';

const DEFAULT_AUDIT_RETENTION_MS = 90 * 24 * 3600 * 1000;

export interface AuditInput {
  type: AuditType;
  actor: string;
  call_id?: string | null;
  data?: Record<string, unknown>;
}

export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly filters: CallFilters,
    readonly retentionMs = DEFAULT_AUDIT_RETENTION_MS,
  ) {}

  /** Appends an entry for a business, redacted with its output filter. */
  async append(business: Pick<Business, 'id' | 'output_filter'>, e: AuditInput): Promise<void> {
    await this.write(business.id, e, redactDeep(e.data ?? {}, redactorFor(business)));
  }

  /** Appends an entry about a call (workers know the call, not the business). */
  async appendForCall(callId: string, e: Omit<AuditInput, 'call_id'>): Promise<void> {
    const f = await this.filters.forCall(callId);
    if (!f) return;
    // A call of a deleted business (its record is gone) must not write into a re-created one's log.
    if (!(await this.redis.exists(this.keys.call(callId)))) return;
    await this.write(f.businessId, { ...e, call_id: callId }, redactDeep(e.data ?? {}, f.redact));
  }

  private async write(businessId: string, e: AuditInput, data: Record<string, unknown>): Promise<void> {
    const key = this.keys.audit(businessId);
    const now = Date.now();
    const fields = JSON.stringify({ ts: now, business_id: businessId, type: e.type, actor: e.actor, call_id: e.call_id ?? null, data });
    await this.redis
      .multi()
      .xadd(key, 'MINID', '~', String(now - this.retentionMs), '*', 'e', fields)
      .pexpire(key, this.retentionMs)
      .exec();
  }

  /** One page, oldest first; `next_cursor` continues after the last entry returned. */
  async read(businessId: string, q: AuditQuery): Promise<{ data: AuditEntry[]; has_more: boolean; next_cursor: string | null }> {
    const start = q.after ? `(${q.after}` : q.since !== undefined ? String(q.since) : '-';
    const end = q.until !== undefined ? String(q.until) : '+';
    const filtered = q.type !== undefined || q.call_id !== undefined;
    const data: AuditEntry[] = [];
    let cursor = start;
    let lastId: string | null = null;
    // Type/call filters are applied while scanning, so a page is still `limit` matching entries.
    for (;;) {
      const batch = await this.redis.xrange(this.keys.audit(businessId), cursor, end, 'COUNT', filtered ? 500 : q.limit + 1);
      for (const [id, f] of batch) {
        const raw = JSON.parse(f[1] ?? '{}') as Omit<AuditEntry, 'id'>;
        if (q.type !== undefined && raw.type !== q.type) {
          lastId = id;
          continue;
        }
        if (q.call_id !== undefined && raw.call_id !== q.call_id) {
          lastId = id;
          continue;
        }
        if (data.length === q.limit) return { data, has_more: true, next_cursor: lastId };
        data.push(AuditEntry.parse({ id, ...raw }));
        lastId = id;
      }
      if (!filtered || batch.length < 500) break;
      cursor = `(${batch[batch.length - 1]![0]}`;
    }
    return { data, has_more: false, next_cursor: null };
  }
}
