/** A small multipart/form-data parser (RFC 7578), enough for the uploads the openai client sends. */

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export class MultipartError extends Error {}

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2]?.trim();
}

export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let start = body.indexOf(delimiter);
  if (start < 0) throw new MultipartError('multipart boundary not found in body');
  for (;;) {
    let cursor = start + delimiter.length;
    if (body.subarray(cursor, cursor + 2).toString() === '--') return parts; // closing delimiter
    cursor = skipLineBreak(body, cursor);
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), cursor);
    if (next < 0) throw new MultipartError('multipart body is truncated (no closing boundary)');
    parts.push(parsePart(body.subarray(cursor, next)));
    start = next + 2;
  }
}

function skipLineBreak(body: Buffer, at: number): number {
  if (body[at] === 0x0d && body[at + 1] === 0x0a) return at + 2;
  if (body[at] === 0x0a) return at + 1;
  return at;
}

function parsePart(raw: Buffer): MultipartPart {
  const headerEnd = raw.indexOf('\r\n\r\n');
  if (headerEnd < 0) throw new MultipartError('multipart part has no header terminator');
  const headers = new Map<string, string>();
  for (const line of raw.subarray(0, headerEnd).toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get('content-disposition') ?? '';
  const name = dispositionParam(disposition, 'name');
  if (name === undefined) throw new MultipartError('multipart part has no name');
  return {
    name,
    filename: dispositionParam(disposition, 'filename*') ?? dispositionParam(disposition, 'filename'),
    contentType: headers.get('content-type'),
    data: raw.subarray(headerEnd + 4),
  };
}

function dispositionParam(disposition: string, key: string): string | undefined {
  const escaped = key.replace('*', '\\*');
  const match = new RegExp(`;\\s*${escaped}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i').exec(disposition);
  if (!match) return undefined;
  if (match[1] !== undefined) return match[1].replace(/\\(.)/g, '$1').replace(/%22/g, '"');
  const value = (match[2] ?? '').trim();
  // RFC 5987 form: filename*=UTF-8''a%20b.wav
  const extended = /^[\w-]+'[\w-]*'(.*)$/.exec(value);
  return extended ? decodeURIComponent(extended[1] ?? '') : value;
}
