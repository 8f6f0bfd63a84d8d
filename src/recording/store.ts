/**
 * Where finished recordings live, outside Redis's memory: a directory (one gateway, or a volume
 * every gateway mounts) or an S3-compatible bucket (several gateways: every one reads the same
 * objects). Both expire recordings with `sweep` (CALL_TTL_S, like the rest of the call).
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RecordingsConfig } from '../config';

export interface StoredRecording {
  body: Readable;
  size: number;
}

export interface RecordingStore {
  /** Stores the WAV at `file` (the file may be moved). */
  put(callId: string, file: string): Promise<void>;
  get(callId: string): Promise<StoredRecording | null>;
  /** False when there was none. */
  delete(callId: string): Promise<boolean>;
  /** Deletes recordings stored before `before` (ms since epoch); returns how many. */
  sweep(before: number): Promise<number>;
}

const NAME = /^(call_[A-Za-z0-9_-]+)\.wav$/;

export class DirRecordingStore implements RecordingStore {
  constructor(private readonly dir: string) {}

  private path(callId: string): string {
    return join(this.dir, `${callId}.wav`);
  }

  async put(callId: string, file: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    // The temporary files are in a folder of this directory: a rename, whole or not at all.
    await rename(file, this.path(callId));
  }

  async get(callId: string): Promise<StoredRecording | null> {
    const path = this.path(callId);
    const st = await stat(path).catch(() => null);
    return st ? { body: createReadStream(path), size: st.size } : null;
  }

  async delete(callId: string): Promise<boolean> {
    return unlink(this.path(callId)).then(
      () => true,
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? false : Promise.reject(err)),
    );
  }

  async sweep(before: number): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    let n = 0;
    for (const name of names) {
      if (!NAME.test(name)) continue;
      const st = await stat(join(this.dir, name)).catch(() => null);
      if (st && st.mtimeMs < before && (await unlink(join(this.dir, name)).then(() => true, () => false))) n++;
    }
    return n;
  }
}

export class S3RecordingStore implements RecordingStore {
  private readonly client: S3Client;
  private readonly prefix = 'recordings/';

  constructor(private readonly c: NonNullable<RecordingsConfig['s3']>) {
    this.client = new S3Client({
      region: c.region,
      forcePathStyle: c.forcePathStyle,
      // Checksums only where S3 requires them: the default streams uploads as aws-chunked with a
      // trailing checksum, which several S3-compatible servers store as it came (framing and all).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(c.endpoint ? { endpoint: c.endpoint } : {}),
      // Without keys, the SDK's own chain (environment, instance role) applies.
      ...(c.accessKeyId && c.secretAccessKey ? { credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey } } : {}),
    });
  }

  private key(callId: string): string {
    return `${this.prefix}${callId}.wav`;
  }

  async put(callId: string, file: string): Promise<void> {
    const { size } = await stat(file);
    await this.client.send(new PutObjectCommand({ Bucket: this.c.bucket, Key: this.key(callId), Body: createReadStream(file), ContentLength: size, ContentType: 'audio/wav' }));
  }

  async get(callId: string): Promise<StoredRecording | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.c.bucket, Key: this.key(callId) }));
      return { body: r.Body as Readable, size: r.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(callId: string): Promise<boolean> {
    // DeleteObject succeeds for a missing key: ask first, so a second DELETE is a 404.
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.c.bucket, Key: this.key(callId) }));
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.c.bucket, Key: this.key(callId) }));
    return true;
  }

  async sweep(before: number): Promise<number> {
    let n = 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.c.bucket, Prefix: this.prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) {
        if (!o.Key || !o.LastModified || o.LastModified.getTime() >= before) continue;
        await this.client.send(new DeleteObjectCommand({ Bucket: this.c.bucket, Key: o.Key }));
        n++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return n;
  }

  close(): void {
    this.client.destroy();
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
