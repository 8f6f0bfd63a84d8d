/**
 * `voice-agent logs <call_id> [--follow] [--json]`: the call's stage timeline as the service
 * formats it, or followed live (Server-Sent Events) with a summary line as each turn ends.
 */
import type { StageLogEntry } from '../contracts/logs';
import { FollowTimeline } from '../core/waterfall';
import { request, ServiceError, type Target } from './client';

export async function printLogs(t: Target, callId: string, o: { json: boolean }, write: (s: string) => void): Promise<void> {
  const path = `/v1/calls/${encodeURIComponent(callId)}/logs`;
  if (o.json) {
    const body = await request<{ data: StageLogEntry[] }>(t, path);
    write(JSON.stringify(body.data, null, 2) + '\n');
    return;
  }
  write(await request<string>(t, `${path}?format=text`, { accept: 'text/plain' }));
}

/** Follows until the signal aborts (Ctrl-C) or the server ends the stream. */
export async function followLogs(t: Target, callId: string, o: { json: boolean; signal: AbortSignal }, write: (s: string) => void): Promise<void> {
  const path = `/v1/calls/${encodeURIComponent(callId)}/logs?follow=1`;
  let res: Response;
  try {
    res = await fetch(t.url + path, { headers: { authorization: `Bearer ${t.key}`, accept: 'text/event-stream' }, signal: o.signal });
  } catch (err) {
    if (o.signal.aborted) return;
    throw new ServiceError(0, `Cannot reach ${t.url}: ${(err as Error).message}`);
  }
  if (!res.ok || !res.body) throw new ServiceError(res.status, `GET ${path}: ${res.status} ${await res.text()}`);
  const timeline = new FollowTimeline();
  if (!o.json) write(timeline.header() + '\n');
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (!data) continue; // keep-alive comment
        const e = JSON.parse(data) as StageLogEntry;
        if (o.json) {
          write(JSON.stringify(e) + '\n');
          continue;
        }
        // Each turn's summary line (as in ?format=text) once the turn has ended and the log moved on.
        write(timeline.push(e).join('\n') + '\n');
      }
    }
  } catch (err) {
    if (!o.signal.aborted) throw err;
  }
  const owed = timeline.end();
  if (!o.json && owed.length) write(owed.join('\n') + '\n');
}
