/**
 * A call's stage log (GET /v1/calls/:id/logs: JSON, `?follow=1` as Server-Sent Events,
 * `?format=text` as a timeline) and its per-turn latency waterfall (GET /v1/calls/:id/turns).
 */
import { StageLog } from '../../adapters/stage-log';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { formatTimeline, waterfalls } from '../../core/waterfall';
import { ApiError } from '../../errors';
import { authenticate, requireCallAccess } from '../auth';
import type { Services } from '../../services';
import { CallParams } from './calls';
import { clientLogEntry } from '../../security/tool-output';
import { followSse } from '../sessions/sse';

export function logRoutes(root: FastifyInstance, s: Services) {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const tags = ['logs'];

  async function accessibleCall(req: Parameters<typeof authenticate>[0], id: string) {
    const p = await authenticate(req, s);
    const call = await s.calls.get(id);
    if (!call) throw ApiError.notFound('call', id);
    requireCallAccess(p, call);
    // A client secret (a browser) reads tool results only if the business exposes them.
    const business = p.kind === 'call' ? await s.businesses.get(call.business_id) : null;
    const view = p.kind === 'call' ? <T>(entry: T) => clientLogEntry(business, entry) : <T>(entry: T) => entry;
    return Object.assign(call, { view });
  }

  app.get(
    '/v1/calls/:id/logs',
    {
      schema: {
        tags,
        summary: "A call's stage log (JSON or a text timeline; follow=1 streams it as SSE)",
        params: CallParams,
        // `token`: EventSource cannot set headers, so browsers pass the call's client_secret here.
        querystring: z.object({ follow: z.enum(['0', '1', 'true', 'false']).optional(), format: z.enum(['json', 'text']).default('json'), token: z.string().optional() }),
      },
    },
    async (req, reply) => {
      const call = await accessibleCall(req, req.params.id);
      const follow = req.query.follow === '1' || req.query.follow === 'true';
      if (!follow) {
        const rows = await s.stageLog.read(call.id);
        const entries = rows.map((r) => call.view(r.entry));
        if (req.query.format === 'text') return reply.type('text/plain; charset=utf-8').send(formatTimeline(entries));
        return { object: 'list', call_id: call.id, data: entries };
      }
      // SSE: the backlog, then new entries as they are written; ends when the call does (sessions/sse.ts).
      await followSse(s, req, reply, {
        callId: call.id,
        kind: 'logs',
        key: s.stageLog.keyOf(call.id),
        after: resumeId(req.headers['last-event-id']),
        ended: call.status === 'ended',
        principal: await authenticate(req, s),
        contentType: 'text/event-stream',
        render: (id, fields) => `id: ${id}\ndata: ${JSON.stringify(call.view(StageLog.decode(fields)))}\n\n`,
      });
    },
  );

  app.get('/v1/calls/:id/turns', { schema: { tags, summary: "A call's turns as waterfalls (each stage's queue wait and run time)", params: CallParams } }, async (req) => {
    const call = await accessibleCall(req, req.params.id);
    const rows = await s.stageLog.read(call.id);
    return { object: 'list', call_id: call.id, data: waterfalls(rows.map((r) => r.entry)) };
  });
}

/** A follower that reconnects with Last-Event-ID (EventSource does) resumes after it. */
function resumeId(header: string | string[] | undefined): string {
  const v = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  return /^\d+-\d+$/.test(v) ? v : '0-0';
}
