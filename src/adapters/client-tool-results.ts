/**
 * A client-side tool's answer (function_call_output from the client) on its way to the LLM worker
 * that waits for it (tools/executor.ts blocks on the same list), so the same response continues.
 */
import { clientResultKey } from '../tools/executor';
import type { Keys, Redis } from './redis';

const RESULT_TTL_S = 600;

export class ClientToolResults {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async deliver(callId: string, toolCallId: string, output: string): Promise<void> {
    const key = clientResultKey(this.keys, callId, toolCallId);
    await this.redis.multi().rpush(key, output).expire(key, RESULT_TTL_S).exec();
  }
}
