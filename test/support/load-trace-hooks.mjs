// Loader hooks of load-trace.mjs: they run on the loader thread and record each loaded URL.
import { appendFileSync } from 'node:fs';

let file;

/** Receives the trace file from `register`. */
export function initialize(data) {
  file = data.file;
}

/** Records the URL, then loads the module as usual. */
export async function load(url, context, nextLoad) {
  appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
