/**
 * POST /v1/audio/transcriptions on the wire (docs/PROTOCOLS.md §4): the multipart upload checked as
 * OpenAI checks it, and a transcript written in the requested response_format. What the text is
 * comes from the caller (the local provider has no speech model; the test fake is scripted).
 */
import type { ServerResponse } from 'node:http';
import { apiError, commonHeaders, sendError, sendJson } from './http';
import type { MultipartPart } from './multipart';
import { wavDurationSeconds } from './pcm';

const RESPONSE_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt'] as const;
type ResponseFormat = (typeof RESPONSE_FORMATS)[number];
const MAX_FILE_BYTES = 25 * 1024 * 1024;
const AUDIO_EXTENSIONS = ['flac', 'mp3', 'mp4', 'mpeg', 'mpga', 'm4a', 'ogg', 'oga', 'wav', 'webm', 'pcm', 'raw'];

export interface UploadedFile {
  name: string;
  type: string;
  size: number;
  bytes: Buffer;
}

/** The multipart body as read: text fields plus the (single) uploaded file. */
export interface TranscriptionUpload {
  fields: Record<string, string>;
  file?: UploadedFile;
}

export function toTranscriptionRequest(parts: MultipartPart[]): TranscriptionUpload {
  const fields: Record<string, string> = {};
  let file: UploadedFile | undefined;
  for (const part of parts) {
    if (part.filename !== undefined) {
      if (part.name === 'file') {
        file = { name: part.filename, type: part.contentType ?? 'application/octet-stream', size: part.data.length, bytes: Buffer.from(part.data) };
      }
    } else {
      fields[part.name] = part.data.toString('utf8');
    }
  }
  return file ? { fields, file } : { fields };
}

/** Seconds of audio: from the WAV header, else assuming raw 24 kHz s16 PCM. */
export function audioDurationSeconds(file: UploadedFile): number {
  return wavDurationSeconds(file.bytes) ?? file.size / 48_000;
}

/** Answers a request OpenAI would refuse with its error and returns undefined; else the checked request. */
export function checkTranscription(res: ServerResponse, upload: TranscriptionUpload): { fields: Record<string, string>; file: UploadedFile } | undefined {
  const { fields, file } = upload;
  if (!file) return void sendError(res, 400, apiError(400, "Missing required parameter: 'file'.", 'file', 'missing_required_parameter'));
  if (!fields.model) return void sendError(res, 400, apiError(400, 'you must provide a model parameter', 'model', null));
  const format = fields.response_format ?? 'json';
  if (!(RESPONSE_FORMATS as readonly string[]).includes(format)) {
    return void sendError(res, 400, apiError(400, `Invalid value: '${format}'. Supported values are: ${RESPONSE_FORMATS.map((f) => `'${f}'`).join(', ')}.`, 'response_format', 'invalid_value'));
  }
  if (file.size > MAX_FILE_BYTES) return void sendError(res, 413, apiError(413, 'Maximum content size limit (26214400) exceeded.', 'file', null));
  const extension = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase();
  if (!extension || !AUDIO_EXTENSIONS.includes(extension)) {
    return void sendError(res, 400, apiError(400, `Invalid file format. Supported formats: ${JSON.stringify(AUDIO_EXTENSIONS)}`, 'file', 'invalid_value'));
  }
  return { fields, file };
}

/** Writes `text` as the transcript of `file`, in the request's response_format. */
export function sendTranscript(res: ServerResponse, fields: Record<string, string>, file: UploadedFile, text: string): void {
  const format = (fields.response_format ?? 'json') as ResponseFormat;
  const duration = audioDurationSeconds(file);
  const usage = { type: 'duration', seconds: Math.max(1, Math.ceil(duration)) };
  if (format === 'json') return sendJson(res, 200, { text, usage });
  if (format === 'verbose_json') {
    return sendJson(res, 200, {
      task: 'transcribe',
      language: fields.language ?? 'english',
      duration,
      text,
      segments: [{ id: 0, seek: 0, start: 0, end: duration, text: ` ${text}`, tokens: [], temperature: 0, avg_logprob: -0.2, compression_ratio: 1, no_speech_prob: 0.01 }],
      usage,
    });
  }
  const body = format === 'text' ? `${text}\n` : format === 'srt' ? srt(text, duration) : vtt(text, duration);
  res.writeHead(200, { ...commonHeaders(), 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function timestamp(seconds: number, separator: ',' | '.'): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

function srt(text: string, duration: number): string {
  return `1\n${timestamp(0, ',')} --> ${timestamp(duration, ',')}\n${text}\n\n`;
}

function vtt(text: string, duration: number): string {
  return `WEBVTT\n\n${timestamp(0, '.')} --> ${timestamp(duration, '.')}\n${text}\n\n`;
}
