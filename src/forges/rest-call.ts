import { forgeHttpError, forgeNetworkError } from './forge-api-error.js';
import { httpJson } from './forge-api.js';

/** Sends one request; a failure (no answer, or a non-2xx one) comes back classified. */
async function send(what: string, method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<Awaited<ReturnType<typeof httpJson>>> {
  let res: Awaited<ReturnType<typeof httpJson>>;
  try {
    res = await httpJson(method, url, headers, body);
  } catch (err) {
    throw forgeNetworkError(what, err);
  }
  if (res.status < 200 || res.status >= 300) throw forgeHttpError(what, res.status, res.headers, res.text);
  return res;
}

/** A JSON REST call whose failures come back classified. Returns the parsed body (or undefined). */
export async function restCall<T>(what: string, method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<T> {
  const res = await send(what, method, url, headers, body);
  // Cast: the caller names the shape of the forge's answer (each forge adapter reads the fields it
  // needs); restCall only knows it is JSON.
  return (res.text ? JSON.parse(res.text) : undefined) as T;
}

/** A GET whose answer headers matter too (a total count); failures as restCall's. */
export async function restGet<T>(what: string, url: string, headers: Record<string, string>): Promise<{ body: T; headers: Headers }> {
  const res = await send(what, 'GET', url, headers);
  // Cast: as in restCall, the caller checks the shape it reads.
  return { body: (res.text ? JSON.parse(res.text) : undefined) as T, headers: res.headers };
}
