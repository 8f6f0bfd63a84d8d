/**
 * POST /v1/calls/:id/audio (docs/DESIGN.md §5): the caller's audio over plain HTTP, into the same call
 * driver a WebSocket would use. The body is raw PCM16 (`audio/pcm;rate=N`), bytes in the session's
 * input format (`application/octet-stream`), or a file decoded with ffmpeg. `?commit=true` ends
 * the turn without waiting for silence. The driver's answers go to GET /v1/calls/:id/events.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services';
import { AUDIO_CONTENT_TYPES, audioBodyKind } from '../sessions/audio-input';
import { acceptAudioBodies, accessibleCall, audioBuffer, requireActive } from '../sessions/access';
import { callSessions } from '../sessions/call-sessions';
import { CallParams } from './calls';

/**
 * The raw-audio request body of the audio routes, for the OpenAPI document (one entry per accepted
 * Content-Type) and for the 415 that names those types. The bytes reach the handler as a Buffer.
 */
export const AUDIO_BODY = {
  consumes: AUDIO_CONTENT_TYPES,
  body: z.any().meta({ type: 'string', format: 'binary', description: 'Raw audio; the Content-Type says which kind (audio/pcm;rate=N, application/octet-stream, or an audio file).' }),
};
export const AUDIO_ROUTE_CONFIG = { accepts: AUDIO_CONTENT_TYPES };

const Flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export async function httpAudioRoutes(root: FastifyInstance, s: Services) {
  const sessions = callSessions(s);
  await root.register(async (plain) => {
    plain.removeAllContentTypeParsers(); // audio only: a JSON body is never parsed here (415)
    acceptAudioBodies(plain);
    const app = plain.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/v1/calls/:id/audio',
      {
        schema: {
          tags: ['calls'],
          summary: 'Post caller audio (raw PCM16, session-format bytes, or a wav/mp3/ogg/webm file)',
          ...AUDIO_BODY,
          params: CallParams,
          querystring: z.object({ commit: Flag.default(false), token: z.string().optional() }),
          response: { 202: z.object({ received_ms: z.number().int(), committed: z.boolean() }) },
        },
        config: AUDIO_ROUTE_CONFIG,
      },
      async (req, reply) => {
        const call = await accessibleCall(req, s, req.params.id);
        requireActive(call);
        const kind = audioBodyKind(req.headers['content-type']);
        const body = audioBuffer(req.body);
        const session = await sessions.open(call.id, { manual: false });
        const { bytes, ms } = await session.input.convert(kind, body);
        await session.audio(bytes);
        const committed = req.query.commit ? await session.commitTurn() : false;
        reply.code(202);
        return { received_ms: ms, committed };
      },
    );
  });
}
