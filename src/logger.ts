/**
 * The process log (for operators). A call's stage log (for users) is separate: see adapters/stage-log.ts.
 * Secrets never reach the log: authorization headers, keys and client secrets are redacted.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["sec-websocket-protocol"]',
  'req.headers["x-twilio-signature"]',
  'headers.authorization',
  '*.apiKey',
  '*.api_key',
  '*.key',
  '*.secret',
  '*.client_secret',
  'client_secret',
  'apiKey',
  'key',
  'secret',
  // Config objects logged whole (config.stt.apiKey, …) and raw environment names.
  '*.*.apiKey',
  'adminApiKey',
  '*.adminApiKey',
  'twilioAuthToken',
  '*.twilioAuthToken',
  'ADMIN_API_KEY',
  'OPENAI_API_KEY',
  'headers["x-api-key"]',
  'req.headers["x-api-key"]',
  'token',
  '*.token',
];

export function createLogger(level: LoggerOptions['level'] = 'info', destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return destination ? pino(options, destination) : pino(options);
}
