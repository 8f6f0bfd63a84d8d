/**
 * Call recordings for a gateway (docs/DESIGN.md §9): the store chosen by the configuration, a recorder
 * for each call whose business records, and the hourly sweep that deletes recordings older than
 * CALL_TTL_S (the call record they belong to is gone by then too).
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Business } from '../contracts/business';
import type { CallRecord } from '../contracts/call';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { CallRecorder, ensureDir } from './recorder';
import { DirRecordingStore, S3RecordingStore, type RecordingStore } from './store';

export { CallRecorder } from './recorder';
export type { RecordingStore, StoredRecording } from './store';

const SWEEP_EVERY_MS = 60 * 60 * 1000;

export class Recordings {
  readonly store: RecordingStore;
  /** Channel files of the calls being recorded (and of any a crashed gateway left). */
  readonly tmpDir: string;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly config: Config, private readonly log: Logger) {
    this.store = config.recordings.s3 ? new S3RecordingStore(config.recordings.s3) : new DirRecordingStore(config.recordings.dir);
    this.tmpDir = join(config.recordings.dir, '.tmp');
  }

  /** A recorder for the call, or null when its business does not record. `live`: see RecorderOptions. */
  start(call: CallRecord, business: Business, log: Logger, live = true): CallRecorder | null {
    if (!business.recording?.enabled) return null;
    return new CallRecorder({
      callId: call.id,
      store: this.store,
      tmpDir: this.tmpDir,
      log,
      inputFormat: call.session.input_audio_format,
      outputFormat: call.session.output_audio_format,
      live,
    });
  }

  /** Deletes what is older than CALL_TTL_S: stored recordings and stray temporary files. */
  async sweep(now = Date.now()): Promise<number> {
    const before = now - this.config.callTtlS * 1000;
    const n = await this.store.sweep(before);
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      const path = join(this.tmpDir, name);
      const st = await stat(path).catch(() => null);
      if (st && st.mtimeMs < before) await rm(path, { force: true });
    }
    if (n > 0) this.log.info({ deleted: n }, 'expired recordings deleted');
    return n;
  }

  /** Creates the temporary directory and sweeps now and every hour (unref'd: it never holds the process). */
  async open(): Promise<void> {
    // Not fatal: a gateway whose businesses do not record needs no writable directory.
    await ensureDir(this.tmpDir).catch((err: Error) => this.log.warn({ err: err.message, dir: this.tmpDir }, 'RECORDINGS_DIR is not writable: calls of businesses that record will have no recording'));
    const run = () => void this.sweep().catch((err: Error) => this.log.warn({ err: err.message }, 'recording sweep failed'));
    run();
    this.timer = setInterval(run, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.store instanceof S3RecordingStore) this.store.close();
  }
}

const registries = new WeakMap<object, Recordings>();

/** The one Recordings of a gateway (one per Services), created on first use. */
export function recordings(s: { config: Config; log: Logger }): Recordings {
  let r = registries.get(s);
  if (!r) registries.set(s, (r = new Recordings(s.config, s.log.child({ component: 'recordings' }))));
  return r;
}
