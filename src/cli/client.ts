/** The CLI's view of the service: base URL, key, JSON requests with API errors as readable messages. */
export interface Target {
  url: string;
  key: string;
}

export class ServiceError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function request<T>(t: Target, path: string, init: { method?: string; json?: unknown; accept?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${t.key}` };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  if (init.accept) headers.accept = init.accept;
  let res: Response;
  try {
    res = await fetch(t.url + path, { method: init.method ?? 'GET', headers, ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}) });
  } catch (err) {
    throw new ServiceError(0, `Cannot reach ${t.url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}. Is the service running (npm start)?`);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      const e = (JSON.parse(text) as { error?: { message?: string; param?: string | null } }).error;
      if (e?.message) message = e.param ? `${e.message} (${e.param})` : e.message;
    } catch {
      /* not JSON */
    }
    throw new ServiceError(res.status, `${init.method ?? 'GET'} ${path}: ${res.status} ${message}`);
  }
  if (init.accept && !init.accept.includes('json')) return text as T;
  return (text ? JSON.parse(text) : null) as T;
}
