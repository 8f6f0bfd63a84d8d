/** A call's stage log entry (docs/DESIGN.md §5 logs): what users read to see why a turn was slow or wrong. */
import { z } from 'zod';

export const LogStage = z.enum(['gateway', 'vad', 'stt', 'llm', 'tool', 'tts', 'realtime']);
export type LogStage = z.infer<typeof LogStage>;
export const LogEvent = z.enum(['queued', 'started', 'first_output', 'completed', 'retry', 'failed', 'cancelled', 'resumed']);
export type LogEvent = z.infer<typeof LogEvent>;

export const StageLogEntry = z.object({
  ts: z.number(),
  call_id: z.string(),
  turn_id: z.string().nullable(),
  stage: LogStage,
  event: LogEvent,
  duration_ms: z.number().nullable(),
  attempt: z.number().int(),
  worker: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type StageLogEntry = z.infer<typeof StageLogEntry>;
