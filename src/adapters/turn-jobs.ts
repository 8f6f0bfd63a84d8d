/**
 * Queues a chained turn's stage jobs: the one place an STT or LLM job is added (by the gateway's
 * chained driver, and by the STT worker handing a transcribed turn on), each with its stage-log
 * 'queued' entry. Job ids are (call, turn, stage), so a turn's job is queued once whoever asks.
 */
import type { EarlySttJob, LlmJob, SttJob } from '../contracts/jobs';
import { jobId, type Queues } from './queues';
import type { StageLog } from './stage-log';

export class TurnJobs {
  constructor(
    private readonly queues: Queues,
    private readonly stageLog: StageLog,
  ) {}

  /**
   * The `queued` entry is stamped before the add (so the worker's `started` cannot precede it: the
   * timeline's wait column = started - queued) but sent alongside it, not a round trip earlier.
   */
  async stt(job: SttJob): Promise<void> {
    const logged = this.stageLog.write({ call_id: job.call_id, turn_id: job.turn_id, stage: 'stt', event: 'queued', data: { audio_ms: job.audio_ms } });
    await Promise.all([this.queues.stt.add('stt', job, { jobId: jobId(job.call_id, job.turn_id, 'stt') }), logged]);
  }

  /** A transcription of the turn so far, during the caller's pause (business.early_transcription_ms). */
  async earlyStt(job: EarlySttJob): Promise<void> {
    await this.queues.stt.add('early', job, { jobId: jobId(job.call_id, job.early_id, 'stt') });
  }

  async llm(job: LlmJob): Promise<void> {
    const logged = this.stageLog.write({ call_id: job.call_id, turn_id: job.turn_id, stage: 'llm', event: 'queued' });
    await Promise.all([this.queues.llm.add('llm', job, { jobId: jobId(job.call_id, job.turn_id, 'llm') }), logged]);
  }
}
