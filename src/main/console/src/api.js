// Calls to the factory's public APIs, as any other client makes them: with the person's session cookie (and its
// CSRF token on calls that change something) or with an API key kept for this browser tab only.

const KEY = 'factory.key';

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrf = null;

export function useKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export function hasKey() {
  return sessionStorage.getItem(KEY) !== null;
}

export function useCsrf(token) {
  csrf = token || null;
}

/** The headers every call carries: the key, or for a session the CSRF token. */
export function authHeaders(method = 'GET') {
  const headers = {};
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = `Bearer ${key}`;
  else if (csrf && method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  return headers;
}

/** The message of an error answer, in whichever API's shape it came (the factory's, OpenAI's or AWS's). */
export async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  let code;
  try {
    const body = await response.json();
    const e = body.error ?? body;
    message = e.message ?? e.Message ?? message;
    code = e.code ?? e.type;
  } catch {
    // not JSON: the status line says what there is
  }
  return new ApiError(response.status, message, code);
}

/** Sends a call and answers its JSON; throws ApiError with the server's own message when it fails. */
export async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const init = { method, credentials: 'same-origin', headers: { ...authHeaders(method), ...headers }, signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && path !== '/api/v1/me' && !path.startsWith('/auth/')) {
    window.dispatchEvent(new Event('factory:unauthenticated'));
  }
  if (!response.ok) throw await errorOf(response);
  const type = response.headers.get('Content-Type') ?? '';
  return type.includes('json') ? response.json() : response.text();
}

/** Uploads a file with PUT, reporting progress as a fraction; answers the JSON the server sent. */
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', path);
    for (const [name, value] of Object.entries(authHeaders('PUT'))) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body?.error?.message ?? `${xhr.status} ${xhr.statusText}`));
    };
    xhr.onerror = () => reject(new ApiError(0, 'the upload was cut off (network error)'));
    xhr.send(file);
  });
}

/**
 * Streams a chat completion (OpenAI's server-sent events), calling onDelta with each piece of text and answering
 * the usage and timings when it ends.
 */
export async function streamChat(body, onDelta, signal) {
  const started = performance.now();
  const response = await fetch('/v1/chat/completions', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...authHeaders('POST'), 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let firstToken = null;
  let usage = null;
  let finish = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new ApiError(200, chunk.error.message ?? 'the stream ended with an error');
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const delta = choice.delta ?? {};
        const text = delta.content ?? '';
        const tools = delta.tool_calls ?? [];
        if ((text || tools.length) && firstToken === null) firstToken = performance.now();
        if (text || tools.length) onDelta(text, tools);
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
  }
  const ended = performance.now();
  return { usage, finish, ttftMs: firstToken === null ? null : firstToken - started, totalMs: ended - started,
    decodeMs: firstToken === null ? null : ended - firstToken };
}
