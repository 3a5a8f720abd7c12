// Talking to the jobq API: JSON in and out, the bearer token kept in sessionStorage (this tab only),
// and a token prompt whenever the API answers 401. Concurrent 401s share one prompt.

const TOKEN_KEY = 'jobq.token';

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? 'HTTP';
    this.field = error?.field ?? null;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

let prompting = null;
let declined = false;

/** True after the operator dismissed the token prompt: no more prompts until they ask for one. */
export function tokenDeclined() {
  return declined;
}

/** Allows the prompt again (the "Enter token" button). */
export function allowTokenPrompt() {
  declined = false;
}

/** Shows the token dialog; resolves once a token was entered, rejects when dismissed. */
export function askForToken(invalid) {
  if (prompting) return prompting;
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const note = document.getElementById('token-note');
  note.textContent = invalid
    ? 'That token was not accepted. Enter a valid API token.'
    : 'This API requires a bearer token (one of JOBQ_API_TOKENS).';
  note.classList.toggle('error-text', Boolean(invalid));
  input.value = '';
  prompting = new Promise((resolve, reject) => {
    const done = (ok) => {
      form.removeEventListener('submit', onSubmit);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      prompting = null;
      declined = !ok;
      if (ok) resolve();
      else reject(new ApiError(401, { code: 'UNAUTHORIZED', message: 'an API token is required' }));
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      done(true);
    };
    const onCancel = (ev) => {
      ev.preventDefault();
      done(false);
    };
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('cancel', onCancel);
    dialog.querySelector('[data-action=dismiss]').onclick = () => done(false);
    dialog.showModal();
    input.focus();
  });
  return prompting;
}

/** Calls the API; on 401 asks for a token and tries again. Throws ApiError on any other failure. */
export async function api(path, { method = 'GET', body } = {}) {
  for (let attempt = 0; attempt < 4; attempt++) {
    const token = getToken();
    const headers = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, { code: 'OFFLINE', message: 'cannot reach the jobq API' });
    }
    if (res.status === 401) {
      if (token) clearToken();
      if (declined) throw new ApiError(401, { code: 'UNAUTHORIZED', message: 'an API token is required' });
      await askForToken(Boolean(token));
      continue;
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) throw new ApiError(res.status, data?.error);
    return data;
  }
  throw new ApiError(401, { code: 'UNAUTHORIZED', message: 'the API keeps refusing the token' });
}

/** Like api(), but a 404 (route not on this server) gives null instead of an error. */
export async function apiOptional(path) {
  try {
    return await api(path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}
