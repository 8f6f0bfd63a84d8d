/**
 * A standalone worker process (`npm run worker:<stage>`) has no HTTP API, so its stage histograms
 * are served on their own port when METRICS_PORT is set: GET /metrics (Prometheus text) and
 * GET /healthz. With `npm start` the gateway's /metrics already covers the in-process workers.
 */
import { createServer, type Server } from 'node:http';
import { processRegistry } from './registry';

export async function serveWorkerMetrics(port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      processRegistry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': processRegistry.contentType }).end(body))
        .catch((err: Error) => res.writeHead(500).end(err.message));
      return;
    }
    if (req.method === 'GET' && path === '/healthz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}
