// Talking to the gateway: the key lives in this tab's sessionStorage and travels only in the
// Authorization header; event streams open with short-lived stream tokens instead.
const KEY = 'quantum-gateway.api-key';
const listeners = new Set();

export const apiKey = {
  get: () => sessionStorage.getItem(KEY) || '',
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

/** Called with the problem whenever the gateway refuses the key (401). */
export function onUnauthorized(listener) {
  listeners.add(listener);
}

/** A problem+json answer (or a network failure, status 0). */
export class Problem extends Error {
  constructor(status, body) {
    const problem = body && typeof body === 'object' ? body : {};
    super(problem.detail || problem.title || `The gateway answered ${status}.`);
    this.status = status;
    this.problem = problem;
  }

  get errors() {
    return this.problem.errors || {};
  }
}

function parse(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** One API call; resolves to the parsed JSON (or text with {text: true}), throws a Problem. */
export async function api(method, path, body, {text = false} = {}) {
  const headers = {Accept: 'application/json, application/problem+json'};
  const key = apiKey.get();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {method, headers, cache: 'no-store', credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body)});
  } catch {
    throw new Problem(0, {title: 'No answer', detail: 'The gateway does not answer; is it running?'});
  }
  const raw = await response.text();
  if (!response.ok) {
    const problem = new Problem(response.status, parse(raw));
    if (response.status === 401) listeners.forEach((listener) => listener(problem));
    throw problem;
  }
  return text ? raw : parse(raw);
}

let backendList = null;

/** The backends, asked once per key. */
export function backends() {
  backendList = backendList || api('GET', '/v1/backends').then((answer) => answer.backends)
    .catch((problem) => { backendList = null; throw problem; });
  return backendList;
}

export function forgetCache() {
  backendList = null;
}

/**
 * Follow an event stream with EventSource: a fresh stream token for each connection (POST
 * `tokenPath` with the key), resuming after the last event seen when it has to reconnect.
 * `handlers` maps event kinds to functions(data); `handlers.onState(text)` hears how it goes.
 */
export function follow(path, tokenPath, handlers) {
  const kinds = Object.keys(handlers).filter((name) => !name.startsWith('on'));
  let source = null;
  let lastId = '';
  let stopped = false;
  let failures = 0;
  const state = (text) => handlers.onState && handlers.onState(text);

  async function open() {
    if (stopped) return;
    let token;
    try {
      ({token} = await api('POST', tokenPath));
    } catch (problem) {
      state(`not connected: ${problem.message}`);
      if (problem.status !== 401 && problem.status !== 404) retry();
      return;
    }
    if (stopped) return;
    const query = new URLSearchParams({token});
    if (lastId) query.set('last_event_id', lastId);
    source = new EventSource(`${path}?${query}`);
    source.onopen = () => { failures = 0; state('live'); };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) { state('reconnecting'); retry(); }
    };
    for (const kind of kinds) {
      source.addEventListener(kind, (event) => {
        lastId = event.lastEventId || lastId;
        handlers[kind](parse(event.data), event);
      });
    }
  }

  function retry() {
    if (source) source.close();
    if (!stopped) setTimeout(open, Math.min(30000, 500 * 2 ** failures++));
  }

  open();
  return {close() { stopped = true; if (source) source.close(); }};
}
