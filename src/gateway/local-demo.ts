/**
 * With the local provider, `npm start` seeds a `demo` business (if absent) so the console and the
 * README's examples work on a fresh machine at once.
 */
import { BusinessInput, resolveBusiness } from '../contracts/business';
import { CUSTOMER_SUPPORT_TOOLS } from '../tools/customer-support';
import type { Services } from '../services';

export async function seedLocalDemo(s: Services): Promise<void> {
  if (await s.businesses.get('demo')) return;
  const input = BusinessInput.parse({
    name: 'Demo support line',
    session: {
      instructions: 'You are a friendly customer service agent for Acme. Keep answers short.',
      tools: CUSTOMER_SUPPORT_TOOLS,
    },
    tool_handlers: Object.fromEntries(CUSTOMER_SUPPORT_TOOLS.map((t) => [t.name, 'builtin'])),
    // What lookup_customer may tell the caller: the name and account number, never email or notes.
    lookup_customer: { fields: ['name', 'account_id'] },
  });
  const now = Date.now();
  await s.businesses.put(
    resolveBusiness('demo', input, { llmModel: s.config.llm.model, realtimeModel: s.config.realtime.model, extraVoices: s.config.extraVoices }, now),
  );
  await s.businesses.putCustomer('demo', { phone_number: '+15550100123', name: 'Jane Doe', account_id: 'A-1001', updated_at: now });
  s.log.info({ business_id: 'demo' }, 'seeded the demo business');
}
