/** Calls: creation request and the stored record (docs/DESIGN.md §5 Calls). */
import { z } from 'zod';
import { BusinessId } from './business';
import { Session, SessionPatch } from './session';

export const CreateCallInput = z
  .object({
    business_id: BusinessId,
    session: SessionPatch.optional(),
    metadata: z.record(z.string(), z.union([z.string().max(500), z.number(), z.boolean()])).optional(),
  })
  .strict();

export const CallStatus = z.enum(['active', 'ended']);

export const TranscriptEntry = z.object({
  ts: z.number(),
  role: z.enum(['user', 'assistant', 'tool']),
  turn_id: z.string(),
  text: z.string(),
});
export type TranscriptEntry = z.infer<typeof TranscriptEntry>;

export const CallRecord = z.object({
  id: z.string(),
  business_id: z.string(),
  mode: z.enum(['chained', 'realtime']),
  session: Session,
  status: CallStatus,
  created_at: z.number(),
  ended_at: z.number().nullable(),
  end_reason: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
});
export type CallRecord = z.infer<typeof CallRecord>;
