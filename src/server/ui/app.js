// The data browser of `kv serve` (served at /ui). Plain JavaScript, no build step.
//
// It talks only to the server's JSON API: /v1/admin/info (stores), /v1/kv/{store}
// (keys, page by page through the cursor), /v1/kv/{store}/{key} (JSON writes, deletes),
// /v1/stores/{store}/count and /keys (count and delete by prefix), and the Cloudflare
// value and metadata routes for a value's raw bytes and for text or binary writes.
//
// Rules kept throughout:
// - every piece of data is rendered as text: DOM nodes are built with `h()`, which only
//   ever creates text nodes and sets attributes, never parses HTML;
// - credentials live in sessionStorage and travel only in the Authorization header,
//   never in a URL; requests omit cookies and ambient HTTP credentials;
// - downloads are Blob URLs of bytes already fetched, so no URL carries a secret.

const AUTH_STORAGE = 'kv-ui-authorization';
const PAGE_SIZE = 1000;
const TEXT_PREVIEW_BYTES = 1024 * 1024;
const HEX_PREVIEW_BYTES = 256;

// ---------------------------------------------------------------------------------
// DOM helpers

/** An element with properties/attributes and children (strings become text nodes). */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'value' || name === 'checked' || name === 'disabled' || name === 'selected') {
      el[name] = value;
    } else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the element's children. */
function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------
// Formatting

const numberFormat = new Intl.NumberFormat('en-US');
const fmtCount = (n) => numberFormat.format(n);

function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const pad = (n) => String(n).padStart(2, '0');

/** Unix seconds as local `YYYY-MM-DD HH:MM:SS`. */
function fmtDate(unix) {
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Unix seconds relative to now: `in 3 h`, `in 45 s`, `2 d ago`. */
function fmtRelative(unix, nowMs = Date.now()) {
  const delta = unix - Math.floor(nowMs / 1000);
  const a = Math.abs(delta);
  let text;
  if (a < 90) text = `${a} s`;
  else if (a < 90 * 60) text = `${Math.round(a / 60)} min`;
  else if (a < 36 * 3600) text = `${Math.round(a / 3600)} h`;
  else if (a < 730 * 86400) text = `${Math.round(a / 86400)} d`;
  else text = `${Math.round(a / (365.25 * 86400))} y`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

/** `<input type=datetime-local>` value for unix seconds, local time. */
function toLocalInput(unix) {
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** An expiration as a date and as relative time; `short` (the key list) drops seconds. */
function expirationNode(unix, short = false) {
  if (unix === undefined || unix === null) return h('span', { class: 'muted' }, 'never');
  const date = fmtDate(unix);
  return h('span', { class: 'expiration', title: `${date} (${new Date(unix * 1000).toISOString()})` },
    h('span', { class: 'relative' }, fmtRelative(unix)), ' ',
    h('span', { class: 'date' }, short ? date.slice(0, 16) : date));
}

// JSON is re-indented and minified token by token, without a round trip through
// JavaScript numbers, so that 12345678901234567890 stays what it is.

/** The JSON text's tokens (the text must already be valid JSON). */
function* jsonTokens(text) {
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
      i += 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      yield text.slice(i, j + 1);
      i = j + 1;
    } else if ('{}[],:'.includes(c)) {
      yield c;
      i += 1;
    } else {
      let j = i;
      while (j < text.length && !' \n\r\t{}[],:"'.includes(text[j])) j += 1;
      yield text.slice(i, j);
      i = j;
    }
  }
}

function minifyJson(text) {
  return Array.from(jsonTokens(text)).join('');
}

function prettyJson(text, indent = '  ') {
  const tokens = Array.from(jsonTokens(text));
  let out = '';
  let depth = 0;
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i];
    const next = tokens[i + 1];
    if (t === '{' || t === '[') {
      if (next === '}' || next === ']') {
        out += t + next;
        i += 1;
      } else {
        depth += 1;
        out += `${t}\n${indent.repeat(depth)}`;
      }
    } else if (t === '}' || t === ']') {
      depth -= 1;
      out += `\n${indent.repeat(depth)}${t}`;
    } else if (t === ',') {
      out += `,\n${indent.repeat(depth)}`;
    } else if (t === ':') {
      out += ': ';
    } else {
      out += t;
    }
  }
  return out;
}

/** Whether the text parses as JSON; the parser's message if not. */
function jsonError(text) {
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    return error.message;
  }
}

/** `0000  89 50 4e 47 …  |.PNG…|` lines for the first bytes (a preview: at most 64 KiB). */
function hexDump(bytes) {
  const lines = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i += 1) {
      if (i === 8) hex += ' ';
      if (i < row.length) {
        hex += `${row[i].toString(16).padStart(2, '0')} `;
        ascii += row[i] >= 0x20 && row[i] < 0x7f ? String.fromCharCode(row[i]) : '.';
      } else {
        hex += '   ';
      }
    }
    lines.push(`${offset.toString(16).padStart(4, '0')}  ${hex} |${ascii}|`);
  }
  return lines.join('\n');
}

/** What the bytes are: `{kind: 'json'|'text'|'binary', text?}`. */
function classify(bytes) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { kind: 'binary' };
  }
  // Control characters other than tab and line breaks: treat as binary.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return { kind: 'binary' };
  if (text.trim() !== '' && jsonError(text) === null) return { kind: 'json', text };
  return { kind: 'text', text };
}

// ---------------------------------------------------------------------------------
// The API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const enc = encodeURIComponent;
const v1Key = (store, key) => `/v1/kv/${enc(store)}/${enc(key)}`;
const cfBase = (store) => `/client/v4/accounts/any/storage/kv/namespaces/${enc(store)}`;
const cfValue = (store, key) => `${cfBase(store)}/values/${enc(key)}`;
const cfMetadata = (store, key) => `${cfBase(store)}/metadata/${enc(key)}`;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The error of a failed response, from either envelope. */
async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON
  }
  if (body && typeof body.error === 'string') {
    return new ApiError(response.status, body.code || null, body.error);
  }
  if (body && Array.isArray(body.errors) && body.errors.length > 0) {
    return new ApiError(response.status, body.errors[0].code, String(body.errors[0].message));
  }
  return new ApiError(response.status, null, `${response.status} ${response.statusText}`);
}

let onUnauthorized = () => {};

/** A request with the stored credentials; resolves to the response if it is a 2xx. */
async function request(method, path, { json, body, headers } = {}) {
  const h = new Headers(headers || {});
  const authorization = sessionStorage.getItem(AUTH_STORAGE);
  if (authorization) h.set('Authorization', authorization);
  let payload = body;
  if (json !== undefined) {
    h.set('Content-Type', 'application/json');
    payload = json;
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: h,
      body: payload,
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error',
    });
  } catch (error) {
    throw new ApiError(0, 'network', `the server did not answer (${error.message})`);
  }
  if (response.ok) return response;
  const error = await errorOf(response);
  if (response.status === 401) {
    error.challenge = response.headers.get('WWW-Authenticate') || '';
    onUnauthorized(error);
  }
  throw error;
}

/** `data` of a /v1 response. */
async function v1(method, path, options) {
  const response = await request(method, path, options);
  return (await response.json()).data;
}

// ---------------------------------------------------------------------------------
// State

const state = {
  info: null,
  store: null, // the StoreInfo shown
  prefix: '',
  cursors: [null], // cursors[i] lists page i
  page: 0,
  listing: null, // {keys, list_complete, cursor}
  count: null,
  selected: null, // key name
  detail: null, // {key, bytes, kind, text, expiration, metadata, etag, size}
  editing: null, // {mode: 'create'|'edit'}
  downloadUrl: null,
};

// ---------------------------------------------------------------------------------
// The banner

let bannerTimer = null;

function banner(message, kind = 'ok') {
  const el = $('banner');
  el.className = `banner ${kind}`;
  fill(el, message);
  el.hidden = false;
  clearTimeout(bannerTimer);
  bannerTimer = setTimeout(() => {
    el.hidden = true;
  }, kind === 'error' ? 10000 : 4000);
}

function reportError(error) {
  if (error instanceof ApiError && error.status === 401) return; // the login screen says it
  banner(error.message, 'error');
}

// ---------------------------------------------------------------------------------
// Confirmation

function confirmAction(message, okLabel) {
  const dialog = $('confirm');
  fill($('confirm-message'), message);
  fill($('confirm-ok'), okLabel);
  return new Promise((resolve) => {
    const done = (answer) => {
      $('confirm-ok').removeEventListener('click', ok);
      $('confirm-cancel').removeEventListener('click', cancel);
      dialog.removeEventListener('cancel', cancel);
      dialog.close();
      resolve(answer);
    };
    const ok = () => done(true);
    const cancel = (event) => {
      if (event) event.preventDefault();
      done(false);
    };
    $('confirm-ok').addEventListener('click', ok);
    $('confirm-cancel').addEventListener('click', cancel);
    dialog.addEventListener('cancel', cancel);
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

// ---------------------------------------------------------------------------------
// Signing in

function schemesOf(challenge) {
  const c = challenge.toLowerCase();
  const schemes = [];
  if (c.includes('bearer')) schemes.push('bearer');
  if (c.includes('basic')) schemes.push('basic');
  return schemes.length ? schemes : ['bearer', 'basic'];
}

function utf8Base64(text) {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function showLogin(error) {
  const hadCredentials = sessionStorage.getItem(AUTH_STORAGE) !== null;
  sessionStorage.removeItem(AUTH_STORAGE);
  state.info = null;
  fill($('application'));
  fill($('identity'));
  $('sign-out').hidden = true;
  const schemes = schemesOf(error.challenge || '');
  let scheme = schemes[0];

  const message = h('p', { id: 'login-error', class: 'field-error', role: 'alert' },
    hadCredentials ? error.message : '');
  const token = h('input', {
    id: 'login-token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'KV_API_KEY or a JWT',
  });
  const user = h('input', { id: 'login-user', type: 'text', autocomplete: 'username' });
  const pass = h('input', { id: 'login-pass', type: 'password', autocomplete: 'current-password' });
  const bearerFields = h('div', { class: 'field' },
    h('label', { for: 'login-token' }, 'API key or bearer token'), token);
  const basicFields = h('div', {},
    h('div', { class: 'field' }, h('label', { for: 'login-user' }, 'Username'), user),
    h('div', { class: 'field' }, h('label', { for: 'login-pass' }, 'Password'), pass));

  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const show = (which) => {
    scheme = which;
    bearerFields.hidden = which !== 'bearer';
    basicFields.hidden = which !== 'basic';
    for (const tab of tabs.children) tab.setAttribute('aria-selected', String(tab.dataset.scheme === which));
    (which === 'bearer' ? token : user).focus();
  };
  if (schemes.length > 1) {
    for (const s of schemes) {
      tabs.append(h('button', {
        type: 'button', role: 'tab', class: 'tab', dataset: { scheme: s },
        onclick: () => show(s),
      }, s === 'bearer' ? 'API key / token' : 'Username + password'));
    }
  }

  const submit = async (event) => {
    event.preventDefault();
    let authorization;
    if (scheme === 'bearer') {
      if (!token.value.trim()) return fill(message, 'Enter the API key or token.');
      authorization = `Bearer ${token.value.trim()}`;
    } else {
      if (!user.value) return fill(message, 'Enter the username and password.');
      authorization = `Basic ${utf8Base64(`${user.value}:${pass.value}`)}`;
    }
    sessionStorage.setItem(AUTH_STORAGE, authorization);
    fill(message);
    await start();
  };

  fill($('main'), h('section', { class: 'login card' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' },
      'This server needs credentials. They are kept in this tab only (session storage) ' +
      'and sent in the Authorization header.'),
    tabs,
    h('form', { id: 'login-form', novalidate: true, onsubmit: submit },
      bearerFields, basicFields, message,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')))));
  if (!hadCredentials && error.message && !/missing credentials/.test(error.message)) {
    fill(message, error.message);
  }
  show(scheme);
}

function identityText() {
  if (state.info.auth.no_auth) return 'no authentication (--no-auth)';
  const authorization = sessionStorage.getItem(AUTH_STORAGE) || '';
  if (authorization.startsWith('Basic ')) {
    try {
      const user = new TextDecoder().decode(
        Uint8Array.from(atob(authorization.slice(6)), (c) => c.charCodeAt(0)));
      return `signed in as ${user.split(':')[0]}`;
    } catch {
      return 'signed in';
    }
  }
  return 'signed in with a token';
}

// ---------------------------------------------------------------------------------
// The location hash: which store and prefix (never credentials)

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { store: params.get('store'), prefix: params.get('prefix') || '' };
}

function writeHash() {
  const params = new URLSearchParams();
  if (state.store) params.set('store', state.store.name);
  if (state.prefix) params.set('prefix', state.prefix);
  history.replaceState(null, '', `${location.pathname}${params.toString() ? `#${params}` : ''}`);
}

// ---------------------------------------------------------------------------------
// The layout

function layout() {
  fill($('main'),
    h('nav', { id: 'stores', class: 'stores', 'aria-label': 'Stores' }),
    h('section', { id: 'keys', class: 'keys', 'aria-label': 'Keys' }),
    h('section', { id: 'detail', class: 'detail', 'aria-label': 'Value' }));
}

function renderStores() {
  const items = state.info.stores.map((s) => h('li', {},
    h('button', {
      type: 'button',
      class: `store${state.store && state.store.name === s.name ? ' active' : ''}`,
      dataset: { store: s.name },
      onclick: () => selectStore(s.name),
    },
    h('span', { class: 'store-name' }, s.name),
    h('span', { class: 'store-meta' }, `${s.backend} · min TTL ${s.min_ttl} s`))));
  fill($('stores'),
    h('h2', {}, 'Stores'),
    items.length ? h('ul', {}, items) : h('p', { class: 'muted' }, 'The manifest declares no store.'));
}

function countText() {
  if (state.count === null) return '';
  return `${fmtCount(state.count)} ${state.count === 1 ? 'key' : 'keys'}` +
    (state.prefix ? ' under this prefix' : '');
}

function renderKeys() {
  const pane = $('keys');
  if (!state.store) {
    fill(pane, h('p', { class: 'placeholder' }, 'Choose a store.'));
    return;
  }
  const prefixInput = h('input', {
    id: 'prefix', type: 'search', value: state.prefix, placeholder: 'Filter by prefix',
    spellcheck: 'false', autocomplete: 'off', 'aria-label': 'Key prefix',
  });
  const filterForm = h('form', {
    id: 'filter', class: 'filter', novalidate: true,
    onsubmit: (event) => {
      event.preventDefault();
      setPrefix(prefixInput.value);
    },
  }, prefixInput, h('button', { type: 'submit' }, 'Filter'),
  h('button', {
    id: 'delete-prefix', type: 'button', class: 'danger',
    disabled: !state.prefix,
    title: state.prefix ? 'Delete every key under this prefix' : 'Filter by a prefix first',
    onclick: deleteByPrefix,
  }, 'Delete by prefix…'));

  const toolbar = h('div', { class: 'toolbar' },
    h('h2', {}, state.store.name,
      h('span', { class: 'badge' }, state.store.backend),
      h('span', { class: 'badge' }, state.store.durability)),
    h('span', { id: 'count', class: 'count' }, countText()),
    h('button', { id: 'refresh', type: 'button', class: 'quiet', title: 'Reload this page of keys', onclick: refreshKeys }, 'Refresh'),
    h('button', { id: 'new-key', type: 'button', class: 'primary', onclick: () => openEditor('create') }, 'New key'));

  let body;
  if (!state.listing) {
    body = h('p', { class: 'placeholder' }, 'Loading keys…');
  } else if (state.listing.keys.length === 0) {
    body = h('p', { class: 'placeholder' },
      state.prefix ? 'No keys under this prefix.' : 'This store is empty.');
  } else {
    const rows = state.listing.keys.map((k) => h('tr', {
      class: k.name === state.selected ? 'selected' : null,
    },
    h('td', { class: 'key' }, h('button', {
      type: 'button', class: 'key-link', title: k.name, dataset: { key: k.name },
      onclick: () => openKey(k.name),
    }, k.name)),
    h('td', { class: 'exp' }, expirationNode(k.expiration, true)),
    h('td', { class: 'meta' }, k.metadata === undefined || k.metadata === null ?
      h('span', { class: 'muted' }, '—') :
      h('code', { title: JSON.stringify(k.metadata, null, 2) }, JSON.stringify(k.metadata)))));
    body = h('div', { class: 'table-wrap' }, h('table', { id: 'key-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Key'), h('th', {}, 'Expires'), h('th', {}, 'Metadata'))),
      h('tbody', {}, rows)));
  }

  const first = state.page * PAGE_SIZE + 1;
  const shown = state.listing ? state.listing.keys.length : 0;
  const pager = h('div', { class: 'pager' },
    h('button', {
      id: 'prev-page', type: 'button', disabled: state.page === 0,
      onclick: () => goToPage(state.page - 1),
    }, '‹ Previous page'),
    h('span', { id: 'page-info', class: 'page-info' },
      shown ? `Page ${state.page + 1} · keys ${fmtCount(first)}–${fmtCount(first + shown - 1)}` :
        `Page ${state.page + 1}`),
    h('button', {
      id: 'next-page', type: 'button',
      disabled: !state.listing || state.listing.list_complete,
      onclick: () => goToPage(state.page + 1),
    }, 'Next page ›'));

  fill(pane, toolbar, filterForm, body, pager);
}

// ---------------------------------------------------------------------------------
// Keys

async function selectStore(name) {
  const store = state.info.stores.find((s) => s.name === name);
  if (!store) return;
  state.store = store;
  state.selected = null;
  closeDetail();
  renderStores();
  await setPrefix('');
}

async function setPrefix(prefix) {
  state.prefix = prefix;
  state.cursors = [null];
  state.page = 0;
  writeHash();
  await Promise.all([loadPage(), loadCount()]);
}

async function loadPage() {
  const store = state.store;
  state.listing = null;
  renderKeys();
  try {
    const listing = await v1('GET', `/v1/kv/${enc(store.name)}${query({
      prefix: state.prefix || undefined,
      limit: PAGE_SIZE,
      cursor: state.cursors[state.page] || undefined,
    })}`);
    if (state.store !== store) return;
    state.listing = listing;
    if (!listing.list_complete && listing.cursor) state.cursors[state.page + 1] = listing.cursor;
  } catch (error) {
    state.listing = { keys: [], list_complete: true };
    reportError(error);
  }
  renderKeys();
}

async function loadCount() {
  const store = state.store;
  state.count = null;
  try {
    const data = await v1('GET', `/v1/stores/${enc(store.name)}/count${query({ prefix: state.prefix })}`);
    if (state.store !== store) return;
    state.count = data.count;
  } catch (error) {
    reportError(error);
  }
  const el = $('count');
  if (el) fill(el, countText());
}

async function goToPage(page) {
  if (page < 0 || page >= state.cursors.length) return;
  state.page = page;
  await loadPage();
  const wrap = document.querySelector('.table-wrap');
  if (wrap) wrap.scrollTop = 0;
}

async function refreshKeys() {
  await Promise.all([loadPage(), loadCount()]);
}

async function deleteByPrefix() {
  const { store, prefix } = state;
  if (!prefix) return;
  let count;
  try {
    count = (await v1('GET', `/v1/stores/${enc(store.name)}/count${query({ prefix })}`)).count;
  } catch (error) {
    reportError(error);
    return;
  }
  if (count === 0) {
    banner('No keys under this prefix.', 'ok');
    return;
  }
  const noun = count === 1 ? 'key' : 'keys';
  const ok = await confirmAction(
    `Delete ${fmtCount(count)} ${noun} under the prefix “${prefix}” from the store “${store.name}”? ` +
      'This cannot be undone.',
    `Delete ${fmtCount(count)} ${noun}`);
  if (!ok) return;
  try {
    const data = await v1('DELETE', `/v1/stores/${enc(store.name)}/keys${query({ prefix })}`);
    banner(`Deleted ${fmtCount(data.deleted)} ${data.deleted === 1 ? 'key' : 'keys'} under “${prefix}”.`);
    closeDetail();
    await setPrefix(prefix);
  } catch (error) {
    reportError(error);
  }
}

// ---------------------------------------------------------------------------------
// A value

function closeDetail() {
  state.detail = null;
  state.editing = null;
  state.selected = null;
  if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
  state.downloadUrl = null;
  const pane = $('detail');
  if (pane) fill(pane, h('p', { class: 'placeholder' }, 'Choose a key to see its value.'));
  for (const row of document.querySelectorAll('#key-table tr.selected')) row.classList.remove('selected');
}

async function openKey(key) {
  const store = state.store;
  state.selected = key;
  state.editing = null;
  for (const row of document.querySelectorAll('#key-table tbody tr')) {
    row.classList.toggle('selected', row.querySelector('.key-link').dataset.key === key);
  }
  fill($('detail'), h('p', { class: 'placeholder' }, 'Loading…'));
  try {
    const [valueResponse, metadata] = await Promise.all([
      request('GET', cfValue(store.name, key)),
      request('GET', cfMetadata(store.name, key)).then((r) => r.json()).then((b) => b.result),
    ]);
    const bytes = new Uint8Array(await valueResponse.arrayBuffer());
    const expiration = valueResponse.headers.get('expiration');
    if (state.store !== store || state.selected !== key) return;
    state.detail = {
      key,
      bytes,
      size: bytes.length,
      ...classify(bytes),
      expiration: expiration ? Number(expiration) : null,
      metadata: metadata === undefined ? null : metadata,
      etag: valueResponse.headers.get('ETag'),
    };
    renderDetail();
  } catch (error) {
    if (error.status === 401) return;
    fill($('detail'), h('div', { class: 'card' },
      h('h2', { class: 'key-title' }, key),
      h('p', { class: 'field-error' },
        error.status === 404 ? 'This key no longer exists (it expired or was deleted).' : error.message),
      h('button', { type: 'button', onclick: refreshKeys }, 'Reload the list')));
  }
}

function downloadLink(d) {
  if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
  const type = d.kind === 'json' ? 'application/json' : d.kind === 'text' ? 'text/plain' : 'application/octet-stream';
  state.downloadUrl = URL.createObjectURL(new Blob([d.bytes], { type }));
  const name = d.key.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').slice(0, 200) || 'value';
  return h('a', { id: 'download', class: 'button', href: state.downloadUrl, download: name }, 'Download');
}

function valueView(d) {
  if (d.kind === 'binary') {
    return h('div', { class: 'value binary' },
      h('p', {}, `Binary, ${fmtBytes(d.size)}` +
        (d.size > HEX_PREVIEW_BYTES ? ` — the first ${HEX_PREVIEW_BYTES} bytes:` : ':')),
      h('pre', { id: 'hex', class: 'hex' }, hexDump(d.bytes.subarray(0, HEX_PREVIEW_BYTES))));
  }
  if (d.size > TEXT_PREVIEW_BYTES) {
    const head = new TextDecoder().decode(d.bytes.subarray(0, TEXT_PREVIEW_BYTES));
    return h('div', { class: 'value' },
      h('p', { class: 'muted' }, `Showing the first ${fmtBytes(TEXT_PREVIEW_BYTES)}; download for the rest.`),
      h('pre', { id: 'value-text', class: 'text' }, head));
  }
  if (d.kind === 'json') return h('pre', { id: 'value-json', class: 'value json' }, prettyJson(d.text));
  if (d.text === '') return h('p', { class: 'muted' }, 'The empty value.');
  return h('pre', { id: 'value-text', class: 'value text' }, d.text);
}

function renderDetail() {
  const d = state.detail;
  const kindLabel = { json: 'JSON', text: 'text', binary: 'binary' }[d.kind];
  fill($('detail'), h('div', { class: 'card' },
    h('div', { class: 'detail-head' },
      h('h2', { id: 'detail-key', class: 'key-title' }, d.key),
      h('div', { class: 'actions' },
        h('button', { id: 'edit', type: 'button', onclick: () => openEditor('edit') }, 'Edit'),
        downloadLink(d),
        h('button', { id: 'delete', type: 'button', class: 'danger', onclick: deleteKey }, 'Delete'))),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Type'), h('dd', { id: 'detail-kind' }, `${kindLabel} · ${fmtBytes(d.size)}`),
      h('dt', {}, 'Expires'), h('dd', { id: 'detail-expiration' }, expirationNode(d.expiration)),
      h('dt', {}, 'Metadata'), h('dd', { id: 'detail-metadata' }, d.metadata === null ?
        h('span', { class: 'muted' }, 'none') :
        h('pre', { class: 'metadata' }, JSON.stringify(d.metadata, null, 2)))),
    h('h3', {}, 'Value'),
    valueView(d)));
}

async function deleteKey() {
  const { store, detail } = state;
  const ok = await confirmAction(`Delete the key “${detail.key}” from the store “${store.name}”?`, 'Delete key');
  if (!ok) return;
  try {
    await v1('DELETE', v1Key(store.name, detail.key));
    banner(`Deleted “${detail.key}”.`);
    closeDetail();
    await refreshKeys();
  } catch (error) {
    reportError(error);
  }
}

// ---------------------------------------------------------------------------------
// Creating and editing

/** Which field of the form a server error is about. */
function fieldOf(error) {
  const code = String(error.code);
  const message = error.message.toLowerCase();
  if (['key_too_long', 'empty_key', 'reserved_key', '10901'].includes(code)) return 'key';
  if (['value_too_large', 'payload_too_large', '10902', '10912'].includes(code)) return 'value';
  if (['metadata_too_large', '10903'].includes(code)) return 'metadata';
  if (code.startsWith('expiration') || code === '10904') return 'expires';
  if (message.includes('metadata')) return 'metadata';
  if (message.includes('ttl') || message.includes('expiration')) return 'expires';
  if (message.includes('"value"') || message.includes('value')) return 'value';
  if (message.includes('key')) return 'key';
  return 'form';
}

function openEditor(mode) {
  const d = mode === 'edit' ? state.detail : null;
  state.editing = { mode };
  const store = state.store;
  const errors = {};
  const errorSlot = (name) => {
    errors[name] = h('p', { id: `error-${name}`, class: 'field-error', role: 'alert' });
    return errors[name];
  };

  const keyInput = h('input', {
    id: 'edit-key', type: 'text', value: d ? d.key : state.prefix, readonly: Boolean(d),
    spellcheck: 'false', autocomplete: 'off',
  });
  const kind = h('select', { id: 'edit-kind' },
    h('option', { value: 'json' }, 'JSON'),
    h('option', { value: 'text' }, 'Text'),
    h('option', { value: 'file' }, d && d.kind === 'binary' ? 'Binary (keep or upload a file)' : 'File upload'));
  kind.value = d ? (d.kind === 'binary' ? 'file' : d.kind) : 'json';
  const valueInput = h('textarea', { id: 'edit-value', rows: 12, spellcheck: 'false' });
  if (d && d.kind === 'json') valueInput.value = prettyJson(d.text);
  else if (d && d.kind === 'text') valueInput.value = d.text;
  const fileInput = h('input', { id: 'edit-file', type: 'file' });
  const fileNote = h('p', { class: 'muted' },
    d && d.kind === 'binary' ? `Without a new file, the current ${fmtBytes(d.size)} are kept.` : '');

  const expires = h('select', { id: 'edit-expires' },
    h('option', { value: 'never' }, 'Never'),
    h('option', { value: 'ttl' }, 'After a TTL (seconds)'),
    h('option', { value: 'at' }, 'At a date and time'));
  const ttl = h('input', { id: 'edit-ttl', type: 'text', inputmode: 'numeric', placeholder: String(Math.max(store.min_ttl, 3600)) });
  const at = h('input', { id: 'edit-at', type: 'datetime-local', step: 1 });
  if (d && d.expiration) {
    expires.value = 'at';
    at.value = toLocalInput(d.expiration);
  }
  const ttlRow = h('span', { class: 'inline' }, ttl, h('span', { class: 'muted' }, `at least ${store.min_ttl} s`));
  const metadataInput = h('textarea', {
    id: 'edit-metadata', rows: 3, spellcheck: 'false', placeholder: '{"any": "JSON, at most 1024 bytes"}',
  });
  if (d && d.metadata !== null) metadataInput.value = JSON.stringify(d.metadata, null, 2);

  const sync = () => {
    const file = kind.value === 'file';
    valueInput.hidden = file;
    fileInput.hidden = !file;
    fileNote.hidden = !file;
    ttlRow.hidden = expires.value !== 'ttl';
    at.hidden = expires.value !== 'at';
  };
  kind.addEventListener('change', sync);
  expires.addEventListener('change', sync);
  sync();

  const clearErrors = () => {
    for (const el of Object.values(errors)) fill(el);
    for (const el of document.querySelectorAll('.invalid')) el.classList.remove('invalid');
  };
  const fieldInputs = { key: keyInput, value: valueInput, metadata: metadataInput, expires: ttl };
  const showError = (field, message) => {
    fill(errors[field] || errors.form, message);
    const input = field === 'expires' ? (expires.value === 'at' ? at : ttl) :
      field === 'value' && kind.value === 'file' ? fileInput : fieldInputs[field];
    if (input) input.classList.add('invalid');
  };

  const save = async (event) => {
    event.preventDefault();
    clearErrors();
    const key = keyInput.value;
    if (key === '') return showError('key', 'Enter a key.');
    let metadata = null;
    if (metadataInput.value.trim() !== '') {
      const why = jsonError(metadataInput.value);
      if (why) return showError('metadata', `Not valid JSON: ${why}`);
      metadata = minifyJson(metadataInput.value);
    }
    let ttlValue = null;
    let atValue = null;
    if (expires.value === 'ttl') {
      if (ttl.value.trim() === '') return showError('expires', 'Enter the TTL in seconds.');
      ttlValue = ttl.value.trim();
    } else if (expires.value === 'at') {
      const ms = new Date(at.value).getTime();
      if (!at.value || Number.isNaN(ms)) return showError('expires', 'Enter a date and time.');
      atValue = String(Math.floor(ms / 1000));
    }
    const conditions = {};
    if (d && d.etag) conditions['If-Match'] = d.etag;
    if (!d) conditions['If-None-Match'] = '*';
    try {
      if (kind.value === 'json') {
        const why = jsonError(valueInput.value);
        if (why) return showError('value', `Not valid JSON: ${why}`);
        // Built as text so the value's JSON is sent (and stored) exactly, minified.
        const number = (v) => (/^\d+$/.test(v) ? v : JSON.stringify(v));
        let body = `{"value":${minifyJson(valueInput.value)}`;
        if (ttlValue !== null) body += `,"ttl":${number(ttlValue)}`;
        if (atValue !== null) body += `,"expiration":${atValue}`;
        if (metadata !== null) body += `,"metadata":${metadata}`;
        body += '}';
        await request('PUT', v1Key(store.name, key), { json: body, headers: conditions });
      } else {
        let blob;
        if (kind.value === 'text') blob = new Blob([valueInput.value], { type: 'text/plain' });
        else if (fileInput.files.length > 0) blob = fileInput.files[0];
        else if (d && d.kind === 'binary') blob = new Blob([d.bytes]);
        else return showError('value', 'Choose a file.');
        const form = new FormData();
        form.append('value', blob, 'value');
        if (metadata !== null) form.append('metadata', metadata);
        const q = query({ expiration_ttl: ttlValue, expiration: atValue });
        await request('PUT', `${cfValue(store.name, key)}${q}`, { body: form, headers: conditions });
      }
    } catch (error) {
      if (error.status === 401) return;
      if (error.status === 412) {
        return showError('form', d ?
          'The key changed since it was opened: reopen it to see the current value, then edit again.' :
          'A key of that name exists already: open it to edit it.');
      }
      return showError(fieldOf(error), error.message);
    }
    banner(`Saved “${key}”.`);
    await refreshKeys();
    await openKey(key);
  };

  const field = (label, id, ...controls) => h('div', { class: 'field' }, h('label', { for: id }, label), controls);
  fill($('detail'), h('div', { class: 'card' },
    h('h2', {}, d ? 'Edit value' : `New key in ${store.name}`),
    h('form', { id: 'editor', class: 'editor', novalidate: true, onsubmit: save },
      field('Key', 'edit-key', keyInput, errorSlot('key')),
      field('Type', 'edit-kind', kind),
      field('Value', 'edit-value', valueInput, fileInput, fileNote, errorSlot('value')),
      field('Expires', 'edit-expires', h('div', { class: 'inline' }, expires, ttlRow, at), errorSlot('expires')),
      field('Metadata (JSON, optional)', 'edit-metadata', metadataInput, errorSlot('metadata')),
      errorSlot('form'),
      h('div', { class: 'actions' },
        h('button', { id: 'save', type: 'submit', class: 'primary' }, 'Save'),
        h('button', {
          id: 'cancel', type: 'button',
          onclick: () => (d ? renderDetail() : closeDetail()),
        }, 'Cancel')))));
  (d ? (kind.value === 'file' ? metadataInput : valueInput) : keyInput).focus();
}

// ---------------------------------------------------------------------------------
// Start

async function start() {
  fill($('main'), h('p', { class: 'placeholder' }, 'Loading…'));
  try {
    state.info = await v1('GET', '/v1/admin/info');
  } catch (error) {
    if (error.status !== 401) {
      fill($('main'), h('section', { class: 'card login' },
        h('h1', {}, 'The server did not answer'),
        h('p', { class: 'field-error' }, error.message),
        h('button', { type: 'button', onclick: start }, 'Try again')));
    }
    return;
  }
  fill($('application'), state.info.application ? `${state.info.application} · kv ${state.info.version}` : `kv ${state.info.version}`);
  fill($('identity'), identityText());
  $('sign-out').hidden = state.info.auth.no_auth || !sessionStorage.getItem(AUTH_STORAGE);
  layout();
  renderStores();
  closeDetail();
  const wanted = readHash();
  const store = state.info.stores.find((s) => s.name === wanted.store) || state.info.stores[0];
  if (store) {
    state.store = store;
    renderStores();
    await setPrefix(store.name === wanted.store ? wanted.prefix : '');
  } else {
    renderKeys();
  }
}

onUnauthorized = (error) => showLogin(error);

// A link to another store or prefix, or the browser's back and forward buttons.
window.addEventListener('hashchange', () => {
  if (!state.info) return;
  const wanted = readHash();
  const store = state.info.stores.find((s) => s.name === wanted.store);
  if (!store || (store === state.store && wanted.prefix === state.prefix)) return;
  state.store = store;
  closeDetail();
  renderStores();
  setPrefix(wanted.prefix);
});

$('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(AUTH_STORAGE);
  state.store = null;
  history.replaceState(null, '', location.pathname);
  start();
});

start();
