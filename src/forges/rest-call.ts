import { forgeHttpError, forgeNetworkError } from './forge-api-error.js';
import { httpJson } from './forge-api.js';

/** A JSON REST call whose failures come back classified. Returns the parsed body (or undefined). */
export async function restCall<T>(what: string, method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<T> {
  let res: Awaited<ReturnType<typeof httpJson>>;
  try {
    res = await httpJson(method, url, headers, body);
  } catch (err) {
    throw forgeNetworkError(what, err);
  }
  if (res.status < 200 || res.status >= 300) throw forgeHttpError(what, res.status, res.headers, res.text);
  // Cast: the caller names the shape of the forge's answer (each forge adapter reads the fields it
  // needs); restCall only knows it is JSON.
  return (res.text ? JSON.parse(res.text) : undefined) as T;
}
