/**
 * The builtin customer-support tools (GET /v1/tools/customer_support): definitions in the realtime
 * (flat) shape, ready for session.tools, and their handlers.
 */
import type { FunctionTool } from '../contracts/tools';
import type { LookupCustomerSettings } from '../contracts/business';
import { toE164 } from '../core/phone';
import { randomToken } from '../core/secrets';

export const CUSTOMER_SUPPORT_TOOLS: FunctionTool[] = [
  {
    type: 'function',
    name: 'lookup_customer',
    description: "Look up the caller's customer record by phone number.",
    parameters: {
      type: 'object',
      properties: { phone_number: { type: 'string', description: 'Phone number, any format; E.164 preferred.' } },
      required: ['phone_number'],
      additionalProperties: false,
    },
  },
  {
    type: 'function',
    name: 'create_ticket',
    description: 'Open a support ticket for the caller.',
    parameters: {
      type: 'object',
      properties: {
        summary: { type: 'string', minLength: 3, maxLength: 500 },
        priority: { type: 'string', enum: ['low', 'normal', 'high', 'urgent'] },
        phone_number: { type: 'string' },
      },
      required: ['summary'],
      additionalProperties: false,
    },
  },
  {
    type: 'function',
    name: 'transfer_to_human',
    description: 'Transfer the caller to a human agent.',
    parameters: {
      type: 'object',
      properties: { reason: { type: 'string', maxLength: 500 } },
      additionalProperties: false,
    },
  },
  {
    type: 'function',
    name: 'end_call',
    description: 'End the call politely after saying goodbye.',
    parameters: { type: 'object', properties: { reason: { type: 'string', maxLength: 500 } }, additionalProperties: false },
  },
];

export interface BuiltinContext {
  businessId: string;
  callId: string;
  /** The business's lookup_customer settings (absent on old records: name only, any number). */
  lookup?: LookupCustomerSettings | undefined;
  /** The phone caller's verified number (E.164), or null when the call is not a phone call. */
  verifiedCallerId(): Promise<string | null>;
  getCustomer(businessId: string, e164: string): Promise<unknown | null>;
  saveTicket(businessId: string, ticket: Record<string, unknown>): Promise<void>;
  requestCallAction(action: 'transfer' | 'end', reason: string | undefined): Promise<void>;
}

const DEFAULT_LOOKUP: LookupCustomerSettings = { fields: ['name'], caller_id_only: false };

export type BuiltinHandler = (args: Record<string, unknown>, ctx: BuiltinContext) => Promise<unknown>;

export const BUILTIN_HANDLERS: Record<string, BuiltinHandler> = {
  async lookup_customer(args, ctx) {
    const settings = ctx.lookup ?? DEFAULT_LOOKUP;
    let phone: string | null;
    if (settings.caller_id_only) {
      // Whatever number the caller names: their record only, so nobody reads another's.
      phone = await ctx.verifiedCallerId();
      if (!phone) return { found: false, error: 'lookup_customer only looks up the verified caller id, and this call has none' };
    } else {
      phone = toE164(String(args.phone_number ?? ''));
      if (!phone) return { found: false, error: 'not a valid phone number' };
    }
    const customer = (await ctx.getCustomer(ctx.businessId, phone)) as Record<string, unknown> | null;
    if (!customer) return { found: false, phone_number: phone };
    const shown = Object.fromEntries(settings.fields.filter((f) => customer[f] !== undefined).map((f) => [f, customer[f]]));
    return { found: true, customer: { phone_number: phone, ...shown } };
  },
  async create_ticket(args, ctx) {
    const ticket = { id: `tkt_${randomToken(6)}`, call_id: ctx.callId, created_at: Date.now(), priority: 'normal', ...args };
    await ctx.saveTicket(ctx.businessId, ticket);
    return { created: true, ticket_id: ticket.id };
  },
  async transfer_to_human(args, ctx) {
    await ctx.requestCallAction('transfer', args.reason as string | undefined);
    return { transferring: true };
  },
  async end_call(args, ctx) {
    await ctx.requestCallAction('end', args.reason as string | undefined);
    return { ending: true };
  },
};
