/**
 * A process's memory after a forced full GC, read over the V8 inspector protocol — so a benchmark
 * can measure a gateway or worker process as it runs, with no product code for it. The process is
 * started with `--inspect=127.0.0.1:0` (NODE_OPTIONS); its DevTools WebSocket is found at
 * http://127.0.0.1:<port>/json/list, the port read from the "Debugger listening on" line it prints.
 *
 * No domain is enabled (Runtime.enable would make the inspector keep console messages: memory the
 * measurement itself would add), and the session is closed after each measurement.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { ServiceProcess } from '../test/helpers/processes';

/** `NODE_OPTIONS` for a process to measure: its inspector on a free loopback port. */
export const INSPECT_OPTIONS = '--inspect=127.0.0.1:0';

export interface Memory {
  /** From /proc/<pid>/status right after the GC (what the OS charges the process). */
  rssKb: number;
  /** process.memoryUsage() inside the process, after the GC. */
  heapUsedKb: number;
  heapTotalKb: number;
  /** C++ objects bound to JS and ArrayBuffer backing stores (typed arrays over 64 B, Buffers). */
  externalKb: number;
  arrayBuffersKb: number;
}

/** The inspector port of a process started with INSPECT_OPTIONS (it prints it on stderr at start). */
export function inspectorPort(p: ServiceProcess): number {
  const m = /Debugger listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(p.stderr());
  if (!m) throw new Error(`${p.name}: no inspector (started without ${INSPECT_OPTIONS}?)`);
  return Number(m[1]);
}

/** Two full GCs (the second frees what the first's finalizers and weak callbacks released), then the memory. */
export async function memoryAfterGc(p: ServiceProcess, port = inspectorPort(p)): Promise<Memory> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`${p.name}: no inspector target on port ${port}`);
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const w = msg.id === undefined ? undefined : pending.get(msg.id);
    if (!w) return;
    pending.delete(msg.id!);
    if (msg.error) w.reject(new Error(msg.error.message));
    else w.resolve(msg.result);
  });
  const call = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const r = (await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    const u = JSON.parse(r.result.value) as NodeJS.MemoryUsage;
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1];
    const kb = (b: number): number => Math.round(b / 1024);
    return { rssKb: Number(rss ?? kb(u.rss)), heapUsedKb: kb(u.heapUsed), heapTotalKb: kb(u.heapTotal), externalKb: kb(u.external), arrayBuffersKb: kb(u.arrayBuffers) };
  } finally {
    ws.close();
  }
}
