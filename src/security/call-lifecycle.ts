/** Ending a call with its audit entry and concurrency slot released, once (a repeated end is a no-op). */
import type { CallRecord } from '../contracts/call';
import type { Services } from '../gateway/services';

export async function endCallAudited(s: Services, callId: string, reason: string, actor: string): Promise<CallRecord | null> {
  const before = await s.calls.get(callId);
  const ended = await s.calls.end(callId, reason);
  if (!before || before.status !== 'active' || !ended) return ended;
  await s.concurrency.release(ended.business_id, callId);
  await s.audit.appendForCall(callId, {
    type: 'call.ended',
    actor,
    data: { reason, duration_ms: (ended.ended_at ?? Date.now()) - ended.created_at },
  });
  return ended;
}
