/**
 * One-shot turns (docs/DESIGN.md §5): POST /v1/calls/:id/turns takes one whole utterance (the same
 * bodies as POST /audio) and answers when the agent has: JSON `{turn_id, transcript,
 * response_text, tool_calls, audio_url}`, or the spoken answer itself as audio/wav when asked
 * with `Accept: audio/wav`. The call runs without turn detection for this (the utterance is
 * committed as a whole); its history is the call's, so turns build a conversation. The answer's
 * WAV is kept in Redis for the call's TTL at GET /v1/calls/:id/turns/:turn_id/audio.
 */
import { AUDIO_BODY, AUDIO_ROUTE_CONFIG } from './http-audio';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { encodeWav } from '../../core/audio/formats';
import { concatPcm16 } from '../../core/audio/pcm';
import { newId } from '../../core/protocol';
import { ApiError } from '../../errors';
import { callUrls } from '../call-factory';
import type { Services } from '../../services';
import { AudioInput, audioBodyKind } from '../sessions/audio-input';
import { acceptAudioBodies, accessibleCall, audioBuffer, requireActive } from '../sessions/access';
import { callSessions } from '../sessions/call-sessions';
import { TurnCollector } from '../sessions/turn-collector';
import { CallParams } from './calls';

const TurnParams = CallParams.extend({ turn_id: z.string().regex(/^turn_[A-Za-z0-9_-]{1,64}$/, 'turn ids look like turn_…') });

const ToolCall = z.object({ call_id: z.string(), name: z.string(), arguments: z.string(), output: z.string().nullable(), duration_ms: z.number().nullable() });
const TurnResult = z.object({
  turn_id: z.string(),
  status: z.string(),
  transcript: z.string().nullable(),
  response_text: z.string(),
  tool_calls: z.array(ToolCall),
  audio_url: z.string().nullable(),
});

function wantsWav(accept: string | undefined): boolean {
  return /\baudio\/(wav|x-wav|wave)\b/i.test(accept ?? '');
}

export async function turnRoutes(root: FastifyInstance, s: Services) {
  const sessions = callSessions(s);
  const audioKey = (callId: string, turnId: string) => s.keys.turnAudio(callId, turnId);

  await root.register(async (plain) => {
    plain.removeAllContentTypeParsers(); // audio only: a JSON body is never parsed here (415)
    acceptAudioBodies(plain);
    const app = plain.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/calls/:id/turns',
      {
        schema: {
          tags: ['calls'],
          summary: 'One utterance in, one answer out (JSON, or audio/wav with Accept: audio/wav)',
          ...AUDIO_BODY,
          params: CallParams,
          querystring: z.object({ token: z.string().optional() }),
          response: { 200: TurnResult },
        },
        config: AUDIO_ROUTE_CONFIG,
      },
      async (req, reply) => {
        const call = await accessibleCall(req, s, req.params.id);
        requireActive(call);
        const kind = audioBodyKind(req.headers['content-type']);
        const body = audioBuffer(req.body);
        const session = await sessions.open(call.id, { manual: true, exact: true });
        // A whole utterance: converted on its own (no resampler state shared with streamed chunks).
        const { bytes } = await new AudioInput(session.input.format).convert(kind, body);
        const turnId = newId('event').replace('event_', 'turn_');
        const outputFormat = (await s.calls.get(call.id))?.session.output_audio_format ?? call.session.output_audio_format;

        const result = await session.exclusive(async () => {
          const collector = new TurnCollector(session, outputFormat);
          await session.audio(bytes);
          if (!(await session.commitTurn())) {
            collector.cancel();
            throw ApiError.badRequest('The request body holds no audio to answer.', 'body', 'empty_audio');
          }
          return collector.done;
        });

        const pcm = concatPcm16(result.audio);
        const wav = pcm.length > 0 ? encodeWav(pcm, result.audioRate) : null;
        if (wav) await s.redis.set(audioKey(call.id, turnId), wav, 'EX', s.config.callTtlS);
        if (wantsWav(req.headers.accept)) {
          if (!wav) throw new ApiError(406, 'invalid_request_error', 'no_audio_answer', 'The answer has no audio (text-only session); ask for JSON.');
          // A Buffer is sent as is (no JSON serialisation); the cast only quiets the JSON response type.
          return reply.code(200).type('audio/wav').header('x-turn-id', turnId).send(wav as never);
        }
        const base = callUrls(s, call.id, req.headers.host).audio.replace(/\/audio$/, '');
        return {
          turn_id: turnId,
          status: result.status,
          transcript: result.transcript,
          response_text: result.text,
          tool_calls: result.toolCalls,
          audio_url: wav ? `${base}/turns/${turnId}/audio` : null,
        };
      },
    );

    app.get(
      '/v1/calls/:id/turns/:turn_id/audio',
      { schema: { tags: ['calls'], summary: 'The spoken answer of a one-shot turn (audio/wav)', params: TurnParams, querystring: z.object({ token: z.string().optional() }) } },
      async (req, reply) => {
        const call = await accessibleCall(req, s, req.params.id);
        const wav = await s.redis.getBuffer(audioKey(call.id, req.params.turn_id));
        if (!wav) throw ApiError.notFound('turn_audio', req.params.turn_id);
        return reply.type('audio/wav').send(wav);
      },
    );
  });
}
