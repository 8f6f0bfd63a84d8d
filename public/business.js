// Business configuration editor: the JSON a PUT /v1/businesses/:id takes, with the server's
// validation errors (message and the field they name) shown as they come.
import { api, fillBusinesses, initKey, rememberBusiness, showError } from './api.js';

const $ = (id) => document.getElementById(id);
const els = { key: $('key'), business: $('business'), newId: $('new-id'), load: $('load'), save: $('save'), tools: $('tools'), json: $('json'), error: $('error'), saved: $('saved') };
const key = () => els.key.value.trim();

const TEMPLATE = {
  name: 'New business',
  mode: 'chained',
  session: { instructions: 'You are a helpful customer service agent. Keep answers short.', voice: 'nova' },
};

/** A stored business → the body PUT accepts (server-set fields removed). */
function toInput(b) {
  const { id: _id, created_at: _c, updated_at: _u, object: _o, ...input } = b;
  return input;
}

function note(text) {
  els.saved.hidden = !text;
  els.saved.textContent = text ?? '';
}

async function list() {
  try {
    const { data } = await api(key(), '/v1/businesses');
    fillBusinesses(els.business, data, (b) => `${b.name} (${b.id})`);
    showError(els.error, null);
  } catch (err) {
    showError(els.error, err);
  }
}

/** Unsaved edits in the editor: only an explicit Load (or picking a business) replaces them. */
let dirty = false;
els.json.addEventListener('input', () => { dirty = true; });

async function load({ force = false } = {}) {
  if (dirty && !force) return;
  note(null);
  const id = els.newId.value.trim() || els.business.value;
  if (!id) return;
  dirty = false;
  // Edits typed while the GET is in flight win over what it brings back (unless Load was clicked).
  const show = (text) => {
    if (dirty && !force) return;
    els.json.value = text;
    dirty = false;
  };
  try {
    show(JSON.stringify(toInput(await api(key(), `/v1/businesses/${encodeURIComponent(id)}`)), null, 2));
    showError(els.error, null);
  } catch (err) {
    if (err.status === 404) {
      show(JSON.stringify(TEMPLATE, null, 2));
      note(`'${id}' does not exist yet: edit the template and save to create it.`);
      showError(els.error, null);
    } else showError(els.error, err);
  }
}

function parseEditor() {
  try {
    return JSON.parse(els.json.value);
  } catch (err) {
    throw new Error(`The JSON does not parse: ${err.message}`);
  }
}

async function save() {
  note(null);
  const id = els.newId.value.trim() || els.business.value;
  try {
    if (!id) throw new Error('Pick a business or type a new id.');
    const body = parseEditor();
    const hidden = Object.entries(body.tool_handlers ?? {}).filter(([, h]) => h && h.secret === '[set]');
    if (hidden.length) throw new Error(`tool_handlers.${hidden[0][0]}.secret is shown as "[set]": paste the real secret (or remove the field) before saving.`);
    const saved = await api(key(), `/v1/businesses/${encodeURIComponent(id)}`, { method: 'PUT', json: body });
    els.json.value = JSON.stringify(toInput(saved), null, 2);
    dirty = false;
    showError(els.error, null);
    note(`Saved '${id}' (defaults filled in).`);
    els.newId.value = '';
    await list();
    els.business.value = id;
  } catch (err) {
    showError(els.error, err);
  }
}

async function addTools() {
  try {
    const body = parseEditor();
    const { data } = await api(key(), '/v1/tools/customer_support');
    body.session ??= {};
    const names = new Set((body.session.tools ?? []).map((t) => t.name ?? t.function?.name));
    body.session.tools = [...(body.session.tools ?? []), ...data.filter((t) => !names.has(t.name))];
    body.tool_handlers = { ...Object.fromEntries(data.map((t) => [t.name, 'builtin'])), ...(body.tool_handlers ?? {}) };
    els.json.value = JSON.stringify(body, null, 2);
    dirty = true;
    showError(els.error, null);
  } catch (err) {
    showError(els.error, err);
  }
}

els.load.addEventListener('click', () => void load({ force: true }));
els.save.addEventListener('click', () => void save());
els.tools.addEventListener('click', () => void addTools());
els.business.addEventListener('change', () => {
  rememberBusiness(els.business.value);
  void load({ force: true });
});

await initKey(els.key, () => void list().then(() => load()));
await list();
await load();
document.body.dataset.ready = '1';
