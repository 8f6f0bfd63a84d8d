/**
 * The web console (docs/DESIGN.md §5 Operations): static files from public/ at `/`, and
 * `GET /console/config`, which tells the page what key to prefill. It prefills the admin key only
 * when the server runs the built-in local provider with the well-known local key; a real
 * ADMIN_API_KEY is never sent.
 */
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Services } from '../../services';

export const LOCAL_ADMIN_KEY = 'local-admin-key-change-me';
const PUBLIC_DIR = fileURLToPath(new URL('../../../public/', import.meta.url));

export async function consoleRoutes(app: FastifyInstance, s: Services) {
  // wildcard: false registers one route per file, so unknown paths still get the API's JSON 404.
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/', wildcard: false, index: 'index.html', cacheControl: false });

  app.get('/console/config', { schema: { tags: ['console'], hide: true } }, async () => ({
    local_provider: s.config.localProvider,
    default_key: s.config.adminApiKey === LOCAL_ADMIN_KEY ? LOCAL_ADMIN_KEY : null, // well known: offering it reveals nothing
  }));
}
