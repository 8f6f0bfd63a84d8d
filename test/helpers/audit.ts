/** Waiting for audit entries, which some writers append after answering (no polling: blocking XREAD). */
import type { TestService } from './service';

/** Resolves when an audit entry of `type` is in the business's stream, or fails after 10 s. */
export async function auditEntry(svc: TestService, businessId: string, type: string): Promise<Record<string, unknown>> {
  const conn = svc.services.redis.duplicate();
  const key = svc.services.keys.audit(businessId);
  try {
    let last = '0-0';
    for (;;) {
      const got = await conn.xread('BLOCK', 10_000, 'STREAMS', key, last);
      if (!got) throw new Error(`no ${type} audit entry for ${businessId}`);
      for (const [, entries] of got) {
        for (const [id, fields] of entries) {
          last = id;
          const entry = JSON.parse(fields[1] ?? '{}') as Record<string, unknown>;
          if (entry['type'] === type) return entry;
        }
      }
    }
  } finally {
    conn.disconnect();
  }
}
