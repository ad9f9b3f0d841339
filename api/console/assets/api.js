/* global sessionStorage, window */
/**
 * The console's only way to data: the /v1 API of the same origin, with the key the user signed in
 * with. The key is kept in sessionStorage: it lasts as long as the tab and is gone when the tab
 * closes; it is never put in a URL.
 */
const KEY = 'proctor.apiKey';

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key) => sessionStorage.setItem(KEY, key),
  signOut: () => sessionStorage.removeItem(KEY),
};

/** An answer that was not 2xx, as problem+json describes it. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `the API answered ${status}`);
    this.status = status;
    this.problem = problem ?? {};
    /** [{ field, message }] for 400s (and some 409s). */
    this.errors = Array.isArray(problem?.errors) ? problem.errors : [];
  }
}

async function send(method, path, body, key = session.key()) {
  const headers = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/**
 * Calls the API and returns the parsed JSON; throws ApiError otherwise. A 401 means the key is no
 * longer valid: the session ends and the sign-in page shows.
 */
export async function api(method, path, body, key) {
  const res = await send(method, path, body, key);
  const text = await res.text();
  const json = text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : null;
  if (res.ok) return json;
  if (res.status === 401 && key === undefined) {
    session.signOut();
    window.location.hash = '#/sign-in';
  }
  throw new ApiError(res.status, json);
}

/**
 * Downloads a file the API serves to key holders only: fetched with the key, handed to the browser
 * as a blob, saved under the name the API's Content-Disposition gives.
 */
export async function download(path, fallbackName) {
  const res = await send('GET', path);
  if (!res.ok) {
    const text = await res.text();
    throw new ApiError(res.status, text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : null);
  }
  const name = /filename="?([^";]+)"?/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = window.URL.createObjectURL(await res.blob());
  const a = window.document.createElement('a');
  a.href = url;
  a.download = name;
  window.document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => window.URL.revokeObjectURL(url), 10_000);
  return name;
}
