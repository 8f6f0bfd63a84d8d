import { describe, expect, it } from 'vitest';
import type { Business } from '../../src/contracts/business';
import { toolHandlerFor } from '../../src/tools/tool-handler';

const tool = (name: string) => ({ type: 'function' as const, name });
const business = {
  id: 'acme',
  session: { tools: [tool('lookup_customer'), tool('order_status')] },
  tool_handlers: { order_status: { type: 'webhook', url: 'https://hooks.example/x', secret: 's', timeout_ms: 5000 }, get_location: { type: 'client', timeout_ms: 9000 } },
} as unknown as Business;

describe('toolHandlerFor (who runs a tool call)', () => {
  it("runs the business's tools in the service: a handler entry, else builtin", () => {
    expect(toolHandlerFor(business, 'order_status').type).toBe('webhook');
    expect(toolHandlerFor(business, 'lookup_customer')).toEqual({ type: 'builtin' });
    expect(toolHandlerFor(business, 'get_location')).toEqual({ type: 'client', timeout_ms: 9000 });
  });

  it('leaves a client-declared tool to the client; a name in both is the business’s', () => {
    const offered = [tool('get_weather'), tool('lookup_customer')];
    expect(toolHandlerFor(business, 'get_weather', offered)).toEqual({ type: 'client', timeout_ms: 30_000 });
    expect(toolHandlerFor(business, 'lookup_customer', offered)).toEqual({ type: 'builtin' });
  });

  it('keeps a tool nobody declared in the service, where it becomes an "Unknown tool" result', () => {
    expect(toolHandlerFor(business, 'launch_rocket', [tool('get_weather')])).toEqual({ type: 'builtin' });
  });
});
