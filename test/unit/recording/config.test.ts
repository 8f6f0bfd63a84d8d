import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config';
import { BusinessInput } from '../../../src/contracts/business';

describe('recording configuration', () => {
  it('defaults to files in ./data/recordings, no bucket', () => {
    expect(loadConfig({}).recordings).toEqual({ dir: './data/recordings', s3: null });
  });

  it('reads the S3 variables', () => {
    const c = loadConfig({ RECORDINGS_S3_BUCKET: 'calls', RECORDINGS_S3_ENDPOINT: 'http://minio:9000', RECORDINGS_S3_ACCESS_KEY_ID: 'id', RECORDINGS_S3_SECRET_ACCESS_KEY: 'secret', RECORDINGS_S3_FORCE_PATH_STYLE: '1' });
    expect(c.recordings.s3).toEqual({ bucket: 'calls', endpoint: 'http://minio:9000', region: 'us-east-1', accessKeyId: 'id', secretAccessKey: 'secret', forcePathStyle: true });
    expect(() => loadConfig({ RECORDINGS_S3_ENDPOINT: 'minio:9000' })).toThrow(ConfigError);
  });

  it('is off for a business unless turned on', () => {
    expect(BusinessInput.parse({ session: { instructions: 'x' } }).recording).toEqual({ enabled: false });
    expect(BusinessInput.parse({ session: { instructions: 'x' }, recording: { enabled: true } }).recording).toEqual({ enabled: true });
    expect(() => BusinessInput.parse({ session: { instructions: 'x' }, recording: { enabled: true, format: 'mp3' } })).toThrow();
  });
});
