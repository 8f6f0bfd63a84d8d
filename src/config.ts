/**
 * The service's configuration: docs/DESIGN.md §4. This is the only module that reads
 * process.env; everything else receives a typed Config.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseCidr, parseCidrList, type Cidr } from './core/net/destination';

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
  /** A Redis Cluster instead of REDIS_URL's one node: any of its nodes, `host:port,...` (docs/DESIGN.md §11). */
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
  /** Provider failover (docs/DESIGN.md §8): a second OpenAI-compatible server per stage. */
  STT_FALLBACK_BASE_URL: optionalUrl,
  STT_FALLBACK_API_KEY: optionalString,
  STT_FALLBACK_MODEL: optionalString,
  LLM_FALLBACK_BASE_URL: optionalUrl,
  LLM_FALLBACK_API_KEY: optionalString,
  LLM_FALLBACK_MODEL: optionalString,
  TTS_FALLBACK_BASE_URL: optionalUrl,
  TTS_FALLBACK_API_KEY: optionalString,
  TTS_FALLBACK_MODEL: optionalString,
  REALTIME_FALLBACK_URL: z.string().regex(/^wss?:\/\//, 'must start with ws:// or wss://').optional(),
  REALTIME_FALLBACK_API_KEY: optionalString,
  REALTIME_FALLBACK_MODEL: optionalString,
  /** How long a stage waits for its provider's first byte (STT: the transcript) before the request counts as failed. */
  STT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  LLM_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(8_000),
  TTS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /** The primary's circuit opens after this many consecutive failures, for this long. */
  PROVIDER_CIRCUIT_FAILURES: z.coerce.number().int().min(1).max(1_000).default(3),
  PROVIDER_CIRCUIT_OPEN_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  STT_MODEL: z.string().min(1).default('whisper-1'),
  LLM_MODEL: z.string().min(1).default('gpt-4o-mini'),
  TTS_MODEL: z.string().min(1).default('tts-1'),
  REALTIME_MODEL: z.string().min(1).default('gpt-realtime'),
  EXTRA_VOICES: csv.default([]),
  CALL_TTL_S: z.coerce.number().int().min(60).default(86_400),
  CLIENT_SECRET_TTL_S: z.coerce.number().int().min(10).max(86_400).default(600),
  WORKERS: csv.pipe(z.array(z.enum(STAGES))).default([...STAGES]),
  TWILIO_AUTH_TOKEN: optionalString,
  /** Local testing only: the Twilio routes without signature checks (warned at start). */
  TWILIO_INSECURE_DEV: z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true').default(false),
  /**
   * Which proxies in front of the gateway to believe about the client address: a hop count
   * (`1`), or proxy addresses/CIDRs (`10.0.0.0/8,127.0.0.1`). Off by default: X-Forwarded-For is ignored.
   */
  TRUST_PROXY: z
    .string()
    .refine((v) => /^(false|off|0|[1-9]\d?)$/.test(v.trim()) || v.split(',').every((c) => parseCidr(c) !== null), 'a hop count (1, 2) or comma-separated proxy CIDRs (10.0.0.0/8,127.0.0.1); never "true"')
    .optional(),
  /** Private ranges a webhook tool may reach (self-hosted webhooks); none by default. */
  WEBHOOK_ALLOW_CIDRS: csv.refine((l) => parseCidrList(l).bad === null, 'comma-separated CIDRs, e.g. 10.0.0.0/8,fd00::/8').default([]),
  PUBLIC_URL: optionalUrl,
  /**
   * How the other gateways reach this one (HTTP-driven calls are forwarded to the gateway that
   * drives them). Default: http://<HOST, or the hostname when HOST is 0.0.0.0>:<port listened on>.
   */
  GATEWAY_URL: optionalUrl,
  /** Standalone worker processes serve GET /metrics on this port (the gateway serves its own). */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Where call recordings live (one gateway, or a volume every gateway shares); temp files go here too. */
  RECORDINGS_DIR: z.string().min(1).default('./data/recordings'),
  /** An S3-compatible bucket for recordings (several gateways): every gateway reads the same objects. */
  RECORDINGS_S3_BUCKET: optionalString,
  RECORDINGS_S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  RECORDINGS_S3_REGION: z.string().min(1).default('us-east-1'),
  RECORDINGS_S3_ACCESS_KEY_ID: optionalString,
  RECORDINGS_S3_SECRET_ACCESS_KEY: optionalString,
  RECORDINGS_S3_FORCE_PATH_STYLE: z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true').default(false),
});

export interface ProviderEndpoint {
  baseURL: string;
  apiKey: string;
}

/** A stage's fallback provider; its model defaults to what the primary would be asked for. */
export interface FallbackEndpoint extends ProviderEndpoint {
  model: string | undefined;
}

export interface StageProviderConfig extends ProviderEndpoint {
  model: string;
  /** Time to the first byte (STT: to the transcript) before the request counts as failed. */
  timeoutMs: number;
  fallback: FallbackEndpoint | null;
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
  /** True when any provider API key is set; without one this is a local setup (a fake or local server). */
  providerKeySet: boolean;
  stt: StageProviderConfig;
  llm: StageProviderConfig;
  tts: StageProviderConfig;
  realtime: { url: string; apiKey: string; model: string; dialect: 'ga' | 'beta'; fallback: { url: string; apiKey: string; model: string | undefined } | null };
  /** The circuit breaker in front of each primary provider (per process). */
  circuit: { failureThreshold: number; openMs: number };
  extraVoices: string[];
  callTtlS: number;
  clientSecretTtlS: number;
  workers: Stage[];
  twilioAuthToken: string | undefined;
  twilioInsecureDev: boolean;
  /** Fastify's trustProxy: false (X-Forwarded-For ignored), a hop count, or proxy CIDRs. */
  trustProxy: false | number | string[];
  webhookAllowCidrs: Cidr[];
  publicUrl: string | undefined;
  gatewayUrl: string | undefined;
  metricsPort: number | undefined;
  recordings: RecordingsConfig;
}

export interface RecordingsConfig {
  dir: string;
  /** Null: recordings are files in `dir`. */
  s3: { bucket: string; endpoint: string | undefined; region: string; accessKeyId: string | undefined; secretAccessKey: string | undefined; forcePathStyle: boolean } | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const TWILIO_TOKEN_PLACEHOLDER = 'replace-with-your-twilio-auth-token';

const OPENAI_URL = 'https://api.openai.com/v1';

/** Variables that may instead be given as `<NAME>_FILE` (a path whose contents are the value). */
const SECRET_VARS = [
  'ADMIN_API_KEY', 'OPENAI_API_KEY', 'STT_API_KEY', 'LLM_API_KEY', 'TTS_API_KEY', 'REALTIME_API_KEY', 'TWILIO_AUTH_TOKEN',
  'STT_FALLBACK_API_KEY', 'LLM_FALLBACK_API_KEY', 'TTS_FALLBACK_API_KEY', 'REALTIME_FALLBACK_API_KEY',
  'RECORDINGS_S3_SECRET_ACCESS_KEY',
] as const;

/**
 * Every environment variable the service reads (the schema's keys, plus `<NAME>_FILE` for secrets):
 * what a deployment file may set. Derived, so it cannot drift from EnvSchema.
 */
export const CONFIG_VARIABLES: readonly string[] = [...Object.keys(EnvSchema.shape), ...SECRET_VARS.map((n) => `${n}_FILE`)];

/** A fallback without its own key gets none: the primary's key is never sent to another server. */
const NO_KEY = 'none';

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
  // A fallback key or model without its server is a typo or a half-done setup: say so now.
  for (const [stage, url] of [['STT', 'STT_FALLBACK_BASE_URL'], ['LLM', 'LLM_FALLBACK_BASE_URL'], ['TTS', 'TTS_FALLBACK_BASE_URL'], ['REALTIME', 'REALTIME_FALLBACK_URL']] as const) {
    if (cleaned[url] !== undefined) continue;
    const orphan = [`${stage}_FALLBACK_API_KEY`, `${stage}_FALLBACK_MODEL`].find((v) => cleaned[v] !== undefined);
    if (orphan) throw new ConfigError(`Invalid configuration: ${orphan} is set but ${url} is not: set ${url} to the fallback server, or unset ${orphan}`);
  }
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
    providerKeySet: [e.OPENAI_API_KEY, e.STT_API_KEY, e.LLM_API_KEY, e.TTS_API_KEY, e.REALTIME_API_KEY].some((v) => v !== undefined),
    stt: {
      baseURL: e.STT_BASE_URL ?? baseURL, apiKey: e.STT_API_KEY ?? apiKey, model: e.STT_MODEL, timeoutMs: e.STT_TIMEOUT_MS,
      fallback: fallbackOf(e.STT_FALLBACK_BASE_URL, e.STT_FALLBACK_API_KEY, e.STT_FALLBACK_MODEL),
    },
    llm: {
      baseURL: e.LLM_BASE_URL ?? baseURL, apiKey: e.LLM_API_KEY ?? apiKey, model: e.LLM_MODEL, timeoutMs: e.LLM_TIMEOUT_MS,
      fallback: fallbackOf(e.LLM_FALLBACK_BASE_URL, e.LLM_FALLBACK_API_KEY, e.LLM_FALLBACK_MODEL),
    },
    tts: {
      baseURL: e.TTS_BASE_URL ?? baseURL, apiKey: e.TTS_API_KEY ?? apiKey, model: e.TTS_MODEL, timeoutMs: e.TTS_TIMEOUT_MS,
      fallback: fallbackOf(e.TTS_FALLBACK_BASE_URL, e.TTS_FALLBACK_API_KEY, e.TTS_FALLBACK_MODEL),
    },
    realtime: {
      url: e.REALTIME_URL ?? realtimeDefault,
      apiKey: e.REALTIME_API_KEY ?? apiKey,
      model: e.REALTIME_MODEL,
      dialect: e.REALTIME_DIALECT,
      fallback: e.REALTIME_FALLBACK_URL
        ? { url: e.REALTIME_FALLBACK_URL, apiKey: e.REALTIME_FALLBACK_API_KEY ?? NO_KEY, model: e.REALTIME_FALLBACK_MODEL }
        : null,
    },
    circuit: { failureThreshold: e.PROVIDER_CIRCUIT_FAILURES, openMs: e.PROVIDER_CIRCUIT_OPEN_MS },
    extraVoices: e.EXTRA_VOICES,
    callTtlS: e.CALL_TTL_S,
    clientSecretTtlS: e.CLIENT_SECRET_TTL_S,
    workers: e.WORKERS,
    // docker-compose.yml's placeholder is not a token: the Twilio routes stay closed until it is replaced.
    twilioAuthToken: e.TWILIO_AUTH_TOKEN === TWILIO_TOKEN_PLACEHOLDER ? undefined : e.TWILIO_AUTH_TOKEN,
    twilioInsecureDev: e.TWILIO_INSECURE_DEV,
    trustProxy: trustProxyOf(e.TRUST_PROXY),
    webhookAllowCidrs: parseCidrList(e.WEBHOOK_ALLOW_CIDRS).cidrs,
    publicUrl: e.PUBLIC_URL,
    gatewayUrl: e.GATEWAY_URL,
    metricsPort: e.METRICS_PORT,
    recordings: {
      dir: e.RECORDINGS_DIR,
      s3: e.RECORDINGS_S3_BUCKET
        ? {
            bucket: e.RECORDINGS_S3_BUCKET,
            endpoint: e.RECORDINGS_S3_ENDPOINT,
            region: e.RECORDINGS_S3_REGION,
            accessKeyId: e.RECORDINGS_S3_ACCESS_KEY_ID,
            secretAccessKey: e.RECORDINGS_S3_SECRET_ACCESS_KEY,
            forcePathStyle: e.RECORDINGS_S3_FORCE_PATH_STYLE,
          }
        : null,
    },
  };
}

function fallbackOf(baseURL: string | undefined, apiKey: string | undefined, model: string | undefined): FallbackEndpoint | null {
  return baseURL ? { baseURL, apiKey: apiKey ?? NO_KEY, model } : null;
}

function trustProxyOf(v: string | undefined): Config['trustProxy'] {
  const t = v?.trim();
  if (!t || /^(false|off|0)$/.test(t)) return false;
  if (/^\d+$/.test(t)) return Number(t);
  return t.split(',').map((c) => parseCidr(c)!.text);
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
