/** A business's audit log entry (docs/DESIGN.md §6): who did what, when, to which call. Append-only. */
import { z } from 'zod';

export const AUDIT_TYPES = [
  'business.created',
  'business.updated',
  'business.deleted',
  'key.created',
  'key.revoked',
  'customer.updated',
  'call.started',
  'call.ended',
  'transcript.user',
  'response.agent',
  'tool.call',
] as const;
export const AuditType = z.enum(AUDIT_TYPES);
export type AuditType = z.infer<typeof AuditType>;

export const AuditEntry = z.object({
  /** The Redis stream id: a cursor for paging (`after`). */
  id: z.string(),
  ts: z.number(),
  business_id: z.string(),
  type: AuditType,
  /** `admin`, `key:<key_id>`, `call:<call_id>`, or `system` (workers, disconnects). */
  actor: z.string(),
  call_id: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** A millisecond timestamp or an ISO 8601 date. */
const Instant = z
  .string()
  .transform((s, ctx) => {
    const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isFinite(n)) {
      ctx.addIssue({ code: 'custom', message: 'must be a millisecond timestamp or an ISO 8601 date' });
      return z.NEVER;
    }
    return n;
  });

export const AuditQuery = z
  .object({
    since: Instant.optional(),
    until: Instant.optional(),
    type: AuditType.optional(),
    call_id: z.string().max(100).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    /** The `next_cursor` of the previous page. */
    after: z.string().regex(/^\d{1,16}-\d{1,10}$/, 'a cursor from next_cursor').optional(),
  })
  .strict();
export type AuditQuery = z.output<typeof AuditQuery>;
