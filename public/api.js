// Shared by the console pages: the API key (kept in localStorage) and JSON requests with it.
const KEY_STORAGE = 'voice-agent.key';

/**
 * Fills the key input (stored key, else the server's local default) and calls onChange whenever
 * the key really changes: an input fires 'change' on blur too, and a reload then would race
 * with whatever the user is doing.
 */
export async function initKey(input, onChange) {
  let key = localStorage.getItem(KEY_STORAGE) ?? '';
  if (!key) {
    try {
      const res = await fetch('console/config');
      const cfg = await res.json();
      key = cfg.default_key ?? '';
    } catch {
      /* the page still works with a pasted key */
    }
  }
  input.value = key;
  input.addEventListener('change', () => {
    const next = input.value.trim();
    if (next === key) return;
    key = next;
    localStorage.setItem(KEY_STORAGE, key);
    onChange();
  });
  return key;
}

/** The business picked last (console or editor), preferred over the seeded `demo`. */
const BUSINESS_STORAGE = 'voice-agent.business';

/**
 * Fills a business <select>: keeps what is shown, else the last used one, else the seeded `demo`,
 * else the first (the list is sorted by id, so that used to be whatever sorted first).
 */
export function fillBusinesses(select, businesses, label) {
  const current = select.value;
  select.replaceChildren(...businesses.map((b) => new Option(label(b), b.id)));
  const pick = [current, localStorage.getItem(BUSINESS_STORAGE), 'demo'].find((id) => id && businesses.some((b) => b.id === id));
  if (pick) select.value = pick;
}

export function rememberBusiness(id) {
  if (id) localStorage.setItem(BUSINESS_STORAGE, id);
}

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = e.code ?? null;
    this.param = e.param ?? null;
  }
}

/** fetch with the bearer key; JSON in and out; API errors thrown as ApiError. */
export async function api(key, path, { method = 'GET', json } = {}) {
  const headers = { authorization: `Bearer ${key}` };
  if (json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path.replace(/^\//, ''), { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

export function showError(el, err) {
  if (!err) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.hidden = false;
  el.textContent = err instanceof ApiError && err.param ? `${err.message} (${err.param})` : String(err.message ?? err);
}
