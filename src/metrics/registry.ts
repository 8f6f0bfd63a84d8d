/**
 * This process's Prometheus metrics (docs/DESIGN.md §5 Operations). Metrics are per process: with
 * `npm start` the gateway and the workers share one registry; run separately, each process
 * exposes what it saw (workers have no HTTP server, so scrape the gateway for queue depth and the
 * gateway-side stages, or run the workers in-process).
 *
 * Histograms and counters live in one process-wide registry, fed from the stage log (see
 * stage-metrics.ts); gauges that read Redis (queue depth, active calls) are bound to a gateway's
 * services in service-metrics.ts.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry, prefix: 'voice_agent_' });

/** Seconds, from 5 ms to 60 s: a voice turn's stages span that range. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13, 20, 30, 60];

const registers = [processRegistry];

export const stageMetrics = {
  queueWait: new Histogram({
    name: 'voice_agent_stage_queue_wait_seconds',
    help: 'Time a stage job waited in its queue before a worker started it.',
    labelNames: ['stage'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  processing: new Histogram({
    name: 'voice_agent_stage_processing_seconds',
    help: 'Time a stage spent on one job or step, from start to its end (outcome: completed, failed, cancelled).',
    labelNames: ['stage', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  firstOutput: new Histogram({
    name: 'voice_agent_stage_time_to_first_output_seconds',
    help: 'Time from a stage starting to its first output (LLM first token, TTS first audio, first audio sent by the gateway).',
    labelNames: ['stage'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  events: new Counter({
    name: 'voice_agent_stage_events_total',
    help: 'Stage log entries written by this process, by stage and event.',
    labelNames: ['stage', 'event'] as const,
    registers,
  }),
  failures: new Counter({
    name: 'voice_agent_stage_failures_total',
    help: 'Stage jobs or steps that failed for good (provider errors after retries, missing data).',
    labelNames: ['stage'] as const,
    registers,
  }),
  retries: new Counter({
    name: 'voice_agent_stage_retries_total',
    help: 'Provider calls retried after a retryable error (429, 5xx, connection), by stage.',
    labelNames: ['stage'] as const,
    registers,
  }),
  redeliveries: new Counter({
    name: 'voice_agent_stage_redeliveries_total',
    help: 'Stage jobs started again after a worker died or stalled (attempt > 1).',
    labelNames: ['stage'] as const,
    registers,
  }),
  cancellations: new Counter({
    name: 'voice_agent_cancellations_total',
    help: 'Responses cancelled, by stage and reason (turn_detected is a barge-in; client_cancelled a response.cancel or hang-up).',
    labelNames: ['stage', 'reason'] as const,
    registers,
  }),
  bargeIns: new Counter({
    name: 'voice_agent_barge_ins_total',
    help: 'Times the caller spoke over the agent and the response was cut (chained mode: gateway; realtime mode: cancelled responses).',
    labelNames: ['mode'] as const,
    registers,
  }),
  toolDuration: new Histogram({
    name: 'voice_agent_tool_call_duration_seconds',
    help: 'Tool call durations, by tool and outcome (completed or failed).',
    labelNames: ['tool', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  toolCalls: new Counter({
    name: 'voice_agent_tool_calls_total',
    help: 'Tool calls run, by tool and outcome (completed or failed).',
    labelNames: ['tool', 'outcome'] as const,
    registers,
  }),
  turnLatency: new Histogram({
    name: 'voice_agent_turn_latency_seconds',
    help: 'The per-turn latency waterfall: time from end of speech to each mark (stt_done, llm_first_token, tts_first_audio, first_audio_sent, response_done).',
    labelNames: ['mark'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  providerFailovers: new Counter({
    name: 'voice_agent_provider_failover_total',
    help: 'Requests that failed on a stage’s primary provider and were made on its fallback (stage: stt, llm, tts, realtime).',
    labelNames: ['stage'] as const,
    registers,
  }),
  providerCircuit: new Gauge({
    name: 'voice_agent_provider_circuit_state',
    help: 'This process’s circuit in front of each stage’s primary provider: 0 closed, 1 half-open, 2 open (only stages with a fallback).',
    labelNames: ['stage'] as const,
    registers,
  }),
  resumes: new Counter({
    name: 'voice_agent_false_interruption_resumes_total',
    help: 'Answers resumed after a false interruption (chained mode), by reason (no_words, backchannel, timeout, transcription_failed).',
    labelNames: ['reason'] as const,
    registers,
  }),
  turns: new Counter({
    name: 'voice_agent_turns_total',
    help: 'Turns that ended, by outcome (completed or cancelled).',
    labelNames: ['outcome'] as const,
    registers,
  }),
};
