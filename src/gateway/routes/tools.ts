/** GET /v1/tools/customer_support: the builtin customer-support tool definitions, ready for session.tools. */
import type { FastifyInstance } from 'fastify';
import { CUSTOMER_SUPPORT_TOOLS } from '../../tools/customer-support';
import { authenticate } from '../auth';
import type { Services } from '../../services';

export function toolRoutes(app: FastifyInstance, s: Services) {
  app.get('/v1/tools/customer_support', { schema: { tags: ['tools'], summary: 'The built-in customer-support tool definitions' } }, async (req) => {
    await authenticate(req, s);
    return {
      object: 'list',
      data: CUSTOMER_SUPPORT_TOOLS,
      tool_handlers: Object.fromEntries(CUSTOMER_SUPPORT_TOOLS.map((t) => [t.name, 'builtin'])),
    };
  });
}
