/**
 * The Twilio routes cannot take our API keys (Twilio calls them), so they are safe only when
 * Twilio's own signatures are checked: without TWILIO_AUTH_TOKEN anyone could start calls in any
 * business, with a caller id of their choosing, and spend provider money. So they answer 403
 * unless the token is set, or TWILIO_INSECURE_DEV=1 says this is a local test (warned at start).
 * Runs in onRequest: the media-stream WebSocket upgrade is refused before it happens.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors';
import type { Services } from '../services';

const TWILIO_DISABLED = new ApiError(
  403,
  'permission_error',
  'twilio_not_configured',
  'The Twilio routes are disabled: set TWILIO_AUTH_TOKEN (Twilio signatures are then checked), or TWILIO_INSECURE_DEV=1 for local testing only.',
);

/** Registers the guard on the (encapsulated) Twilio routes' plugin. */
export function guardTwilioRoutes(app: FastifyInstance, s: Services): void {
  const { twilioAuthToken, twilioInsecureDev } = s.config;
  if (!twilioAuthToken && twilioInsecureDev) {
    s.log.warn('TWILIO_INSECURE_DEV=1: the Twilio routes accept unsigned requests; anyone who can reach them can start calls. Local testing only.');
  }
  app.addHook('onRequest', async () => {
    if (!twilioAuthToken && !twilioInsecureDev) throw TWILIO_DISABLED;
  });
}
