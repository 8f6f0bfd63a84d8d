import { describe, expect, it } from 'vitest';
import { toolRunId } from '../../src/tools/executor';

describe('toolRunId', () => {
  const ctx = { callId: 'call_1', turnId: 'turn_1', scope: 'round0' };
  const call = { name: 'create_ticket', arguments: '{"summary":"x"}' };

  it('is the same for the same run in any process, whatever the provider named the call', () => {
    expect(toolRunId(ctx, call)).toBe(toolRunId({ ...ctx }, { ...call }));
    expect(toolRunId(ctx, call)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('differs when the call, turn, round, tool or arguments differ', () => {
    const ids = [
      toolRunId(ctx, call),
      toolRunId({ ...ctx, callId: 'call_2' }, call),
      toolRunId({ ...ctx, turnId: 'turn_2' }, call),
      toolRunId({ ...ctx, scope: 'round1' }, call),
      toolRunId(ctx, { ...call, name: 'lookup_customer' }),
      toolRunId(ctx, { ...call, arguments: '{"summary":"y"}' }),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
