/**
 * The service's configuration: DESIGN.md §4. This is the only module that reads
 * process.env; everything else receives a typed Config.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const csv = z
  .string()
  .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean));

const STAGES = ['stt', 'llm', 'tts'] as const;
export type Stage = (typeof STAGES)[number];

const optionalUrl = z.url().optional();
const optionalString = z.string().min(1).optional();

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').default('redis://127.0.0.1:6379'),
  /** A Redis Cluster instead of REDIS_URL's one node: any of its nodes, `host:port,...` (DESIGN.md §11). */
  REDIS_CLUSTER_NODES: csv.pipe(z.array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'must be host:port,host:port,...')).min(1)).optional(),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('va'),
  ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalUrl,
  STT_BASE_URL: optionalUrl,
  STT_API_KEY: optionalString,
  LLM_BASE_URL: optionalUrl,
  LLM_API_KEY: optionalString,
  TTS_BASE_URL: optionalUrl,
  TTS_API_KEY: optionalString,
  REALTIME_URL: z.string().regex(/^wss?:\/\//, 'must start with ws:// or wss://').optional(),
  REALTIME_API_KEY: optionalString,
  REALTIME_DIALECT: z.enum(['ga', 'beta']).default('ga'),
  STT_MODEL: z.string().min(1).default('whisper-1'),
  LLM_MODEL: z.string().min(1).default('gpt-4o-mini'),
  TTS_MODEL: z.string().min(1).default('tts-1'),
  REALTIME_MODEL: z.string().min(1).default('gpt-realtime'),
  EXTRA_VOICES: csv.default([]),
  CALL_TTL_S: z.coerce.number().int().min(60).default(86_400),
  CLIENT_SECRET_TTL_S: z.coerce.number().int().min(10).max(86_400).default(600),
  WORKERS: csv.pipe(z.array(z.enum(STAGES))).default([...STAGES]),
  TWILIO_AUTH_TOKEN: optionalString,
  PUBLIC_URL: optionalUrl,
  /**
   * How the other gateways reach this one (HTTP-driven calls are forwarded to the gateway that
   * drives them). Default: http://<HOST, or the hostname when HOST is 0.0.0.0>:<port listened on>.
   */
  GATEWAY_URL: optionalUrl,
  /** Standalone worker processes serve GET /metrics on this port (the gateway serves its own). */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
});

export interface ProviderEndpoint {
  baseURL: string;
  apiKey: string;
}

export interface Config {
  port: number;
  host: string;
  redisUrl: string;
  /** Empty: one Redis node at redisUrl. Otherwise the cluster's seed nodes (credentials from redisUrl). */
  redisClusterNodes: string[];
  redisPrefix: string;
  adminApiKey: string | undefined;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** True when no provider key is configured: `npm start` then runs the in-process local provider. */
  localProvider: boolean;
  stt: ProviderEndpoint & { model: string };
  llm: ProviderEndpoint & { model: string };
  tts: ProviderEndpoint & { model: string };
  realtime: { url: string; apiKey: string; model: string; dialect: 'ga' | 'beta' };
  extraVoices: string[];
  callTtlS: number;
  clientSecretTtlS: number;
  workers: Stage[];
  twilioAuthToken: string | undefined;
  publicUrl: string | undefined;
  gatewayUrl: string | undefined;
  metricsPort: number | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const OPENAI_URL = 'https://api.openai.com/v1';

/** Variables that may instead be given as `<NAME>_FILE` (a path whose contents are the value). */
const SECRET_VARS = ['ADMIN_API_KEY', 'OPENAI_API_KEY', 'STT_API_KEY', 'LLM_API_KEY', 'TTS_API_KEY', 'REALTIME_API_KEY', 'TWILIO_AUTH_TOKEN'] as const;

/** Validates the environment once; a bad value throws one ConfigError naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset" (docker-compose passes `FOO=` for blanks), except WORKERS where empty = none.
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (v === '' && k !== 'WORKERS') continue;
    cleaned[k] = v;
  }
  // Secrets may come from files (Docker/Kubernetes secrets): FOO_FILE=/run/secrets/foo.
  for (const name of SECRET_VARS) {
    const file = cleaned[`${name}_FILE`];
    if (!file || cleaned[name] !== undefined) continue;
    try {
      cleaned[name] = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`Invalid configuration: ${name}_FILE=${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  }
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`Invalid configuration: ${name}=${JSON.stringify(cleaned[name] ?? '')}: ${issue.message}`);
  }
  const e = parsed.data;
  // The built-in local provider only when no provider at all is configured (a partial setup, say
  // only STT_BASE_URL, must not be silently replaced by the fake).
  const localProvider = [
    e.OPENAI_API_KEY, e.OPENAI_BASE_URL, e.STT_BASE_URL, e.STT_API_KEY, e.LLM_BASE_URL, e.LLM_API_KEY,
    e.TTS_BASE_URL, e.TTS_API_KEY, e.REALTIME_URL, e.REALTIME_API_KEY,
  ].every((v) => v === undefined);
  const baseURL = e.OPENAI_BASE_URL ?? OPENAI_URL;
  const apiKey = e.OPENAI_API_KEY ?? 'local';
  const realtimeDefault = baseURL.replace(/^http/, 'ws') + '/realtime';
  return {
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES ?? [],
    redisPrefix: e.REDIS_PREFIX,
    adminApiKey: e.ADMIN_API_KEY,
    logLevel: e.LOG_LEVEL,
    localProvider,
    stt: { baseURL: e.STT_BASE_URL ?? baseURL, apiKey: e.STT_API_KEY ?? apiKey, model: e.STT_MODEL },
    llm: { baseURL: e.LLM_BASE_URL ?? baseURL, apiKey: e.LLM_API_KEY ?? apiKey, model: e.LLM_MODEL },
    tts: { baseURL: e.TTS_BASE_URL ?? baseURL, apiKey: e.TTS_API_KEY ?? apiKey, model: e.TTS_MODEL },
    realtime: {
      url: e.REALTIME_URL ?? realtimeDefault,
      apiKey: e.REALTIME_API_KEY ?? apiKey,
      model: e.REALTIME_MODEL,
      dialect: e.REALTIME_DIALECT,
    },
    extraVoices: e.EXTRA_VOICES,
    callTtlS: e.CALL_TTL_S,
    clientSecretTtlS: e.CLIENT_SECRET_TTL_S,
    workers: e.WORKERS,
    twilioAuthToken: e.TWILIO_AUTH_TOKEN,
    publicUrl: e.PUBLIC_URL,
    gatewayUrl: e.GATEWAY_URL,
    metricsPort: e.METRICS_PORT,
  };
}

/** Points every provider at one base URL (the local fake provider, or a test's). */
export function withProviderBaseUrl(config: Config, baseURL: string): Config {
  const ws = baseURL.replace(/^http/, 'ws') + '/realtime';
  return {
    ...config,
    stt: { ...config.stt, baseURL },
    llm: { ...config.llm, baseURL },
    tts: { ...config.tts, baseURL },
    realtime: { ...config.realtime, url: ws },
  };
}
