/**
 * Feeds the process's histograms and counters from stage-log entries: every stage writes its
 * story there (queued, started, first_output, completed, retry, failed, cancelled), so observing
 * each entry as it is written is the one place that sees every stage in every mode.
 */
import type { StageLogEntry } from '../contracts/logs';
import { waterfalls, type TurnWaterfall } from '../core/waterfall';
import { stageMetrics as m } from './registry';

/** Reads a call's stage log (for the turn waterfall, whose marks come from several processes). */
export type ReadCallLog = (callId: string) => Promise<StageLogEntry[]>;

const WATERFALL_MARKS = ['stt_done_ms', 'llm_first_token_ms', 'tts_first_audio_ms', 'first_audio_sent_ms', 'response_done_ms'] as const satisfies readonly (keyof TurnWaterfall)[];

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/** Observes one entry. Never throws: metrics must not break a call. */
export function observeStageEntry(e: StageLogEntry, readLog?: ReadCallLog): void {
  try {
    m.events.inc({ stage: e.stage, event: e.event });
    const d = e.data;
    const ms = e.duration_ms;
    switch (e.event) {
      case 'started':
        if (typeof d.queue_wait_ms === 'number') m.queueWait.observe({ stage: e.stage }, seconds(d.queue_wait_ms));
        if (e.attempt > 1 && e.stage !== 'tool') m.redeliveries.inc({ stage: e.stage });
        break;
      case 'first_output':
        if (ms !== null) m.firstOutput.observe({ stage: e.stage }, seconds(ms));
        break;
      case 'retry':
        // A switch to the fallback provider is counted where it happens (provider_failover_total).
        if (d.failover !== true) m.retries.inc({ stage: e.stage });
        break;
      case 'failed':
        m.failures.inc({ stage: e.stage });
        break;
      case 'cancelled': {
        const reason = typeof d.reason === 'string' ? d.reason : 'cancelled';
        m.cancellations.inc({ stage: e.stage, reason });
        if (e.stage === 'gateway' && reason === 'turn_detected') m.bargeIns.inc({ mode: 'chained' });
        if (e.stage === 'realtime') m.bargeIns.inc({ mode: 'realtime' });
        break;
      }
      case 'resumed':
        m.resumes.inc({ reason: typeof d.reason === 'string' ? d.reason : 'unknown' });
        break;
      default:
        break;
    }
    if ((e.event === 'completed' || e.event === 'failed' || e.event === 'cancelled') && ms !== null) {
      if (e.stage === 'tool') {
        if (d.reused === true) return; // a redelivered job reusing a finished run: no new tool call
        const tool = typeof d.name === 'string' ? d.name : 'unknown';
        m.toolDuration.observe({ tool, outcome: e.event }, seconds(ms));
        m.toolCalls.inc({ tool, outcome: e.event });
      } else if (e.stage !== 'gateway') {
        m.processing.observe({ stage: e.stage, outcome: e.event }, seconds(ms));
      }
    }
    // The gateway's completed / cancelled entry ends a turn: observe its waterfall once.
    if (e.stage === 'gateway' && e.turn_id && (e.event === 'completed' || (e.event === 'cancelled' && ms !== null))) {
      m.turns.inc({ outcome: e.event });
      if (readLog) void observeTurnWaterfall(e.call_id, e.turn_id, readLog);
    }
  } catch {
    // A label or value problem must never reach the caller.
  }
}

async function observeTurnWaterfall(callId: string, turnId: string, readLog: ReadCallLog): Promise<void> {
  try {
    const entries = (await readLog(callId)).filter((x) => x.turn_id === turnId);
    const w = waterfalls(entries)[0];
    if (!w) return;
    for (const mark of WATERFALL_MARKS) {
      const v = w[mark];
      if (v !== null) m.turnLatency.observe({ mark: mark.replace(/_ms$/, '') }, seconds(v));
    }
  } catch {
    // Redis hiccup: this turn is missing from the histogram, nothing else.
  }
}
