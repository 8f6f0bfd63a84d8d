/** GET /v1/businesses/:id/audit: a business's append-only audit log, filtered by time and paged. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AuditQuery } from '../../contracts/audit';
import { BusinessId } from '../../contracts/business';
import { ApiError } from '../../errors';
import { authenticate, requireBusinessAccess } from '../auth';
import type { Services } from '../../services';

export function auditRoutes(root: FastifyInstance, s: Services) {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.get(
    '/v1/businesses/:id/audit',
    { schema: { tags: ['businesses'], summary: "A business's audit log (who changed what, when)", params: z.object({ id: BusinessId }), querystring: AuditQuery } },
    async (req) => {
      const p = await authenticate(req, s);
      requireBusinessAccess(p, req.params.id);
      // The log outlives a deleted business (until retention); only the admin may read it then.
      if (p.kind !== 'admin' && !(await s.businesses.get(req.params.id))) throw ApiError.notFound('business', req.params.id);
      const page = await s.audit.read(req.params.id, req.query);
      return { object: 'list', business_id: req.params.id, ...page };
    },
  );
}
