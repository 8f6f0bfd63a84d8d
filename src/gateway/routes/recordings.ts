/**
 * A call's recording (docs/DESIGN.md §9): GET /v1/calls/:id/recording (the WAV, `?format=mp3` through
 * ffmpeg) and DELETE. The admin key or the business's own key; a call's client_secret may not
 * (a browser session has no business keeping the call's audio). There once the call has ended.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError } from '../../errors';
import { recordings } from '../../recording';
import { authenticate, requireCallAccess } from '../auth';
import type { Services } from '../../services';
import { liveCalls } from '../sessions/call-host';
import { CallParams } from './calls';

const notFound = (id: string, why: string) => new ApiError(404, 'not_found_error', 'recording_not_found', `No recording for call '${id}'${why}.`, 'id');

export async function recordingRoutes(root: FastifyInstance, s: Services) {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const tags = ['recordings'];
  const rec = recordings(s);
  await rec.open();
  root.addHook('onClose', async () => rec.close());

  async function endedCall(req: FastifyRequest, id: string) {
    const p = await authenticate(req, s);
    if (p.kind === 'call') throw ApiError.forbidden('Recordings need the admin key or the business\'s key.');
    let call = await s.calls.get(id);
    if (!call) throw notFound(id, '');
    requireCallAccess(p, call);
    // A call that is ending here (hung up a moment ago) is waited for: its recording is being
    // written. One ended elsewhere (DELETE /v1/calls/:id) but still live here is hung up now.
    const hosts = liveCalls(s).of(id);
    if (call.status === 'ended') for (const h of hosts) if (!h.ending) h.hangup('hangup');
    if (hosts.some((h) => h.ending)) {
      await Promise.all(hosts.map((h) => h.ending));
      call = (await s.calls.get(id)) ?? call;
    }
    if (call.status !== 'ended') throw notFound(id, ' yet: it is available once the call has ended');
    return call;
  }

  app.get(
    '/v1/calls/:id/recording',
    { schema: { tags, summary: "Download a call's recording (wav or mp3)", params: CallParams, querystring: z.object({ format: z.enum(['wav', 'mp3']).default('wav') }) } },
    async (req, reply) => {
      const call = await endedCall(req, req.params.id);
      const got = await rec.store.get(call.id);
      if (!got) throw notFound(call.id, '');
      const name = `${call.id}.${req.query.format}`;
      reply.header('content-disposition', `attachment; filename="${name}"`);
      if (req.query.format === 'mp3') return reply.type('audio/mpeg').send(await toMp3(got.body));
      return reply.type('audio/wav').header('content-length', got.size).send(got.body);
    },
  );

  app.delete('/v1/calls/:id/recording', { schema: { tags, summary: "Delete a call's recording", params: CallParams } }, async (req, reply) => {
    const call = await endedCall(req, req.params.id);
    if (!(await rec.store.delete(call.id))) throw notFound(call.id, '');
    req.log.info({ call_id: call.id }, 'recording deleted');
    return reply.code(204).send();
  });
}

/** The WAV through ffmpeg as a 64 kbit/s stereo MP3 (whole: a failure is a clean 503, not a cut file). */
function toMp3(wav: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'wav', '-i', 'pipe:0', '-f', 'mp3', '-b:a', '64k', 'pipe:1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const fail = (why: string) => {
      wav.destroy();
      reject(new ApiError(503, 'server_error', 'audio_encoder_unavailable', `Could not encode the recording as MP3: ${why}.`));
    };
    ff.on('error', (e) => fail(e.message));
    ff.stdout.on('data', (b: Buffer) => out.push(b));
    ff.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-500)));
    ff.stdin.on('error', () => {}); // ffmpeg exiting early: its exit code says why
    ff.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : fail(err.trim() || `ffmpeg exited with ${code}`)));
    wav.on('error', (e) => {
      ff.kill();
      fail(e.message);
    });
    wav.pipe(ff.stdin);
  });
}
