// `node --import ./test/support/load-trace.mjs dist/main.js ...` appends the URL of every
// module the process loads to the file named by LANDFALL_LOAD_TRACE, one a line. Used to show
// which project modules a role loads (test/runtime/roles.test.ts, BENCHMARKS.md).
import { register } from 'node:module';
import process from 'node:process';

if (process.env.LANDFALL_LOAD_TRACE) {
  register('./load-trace-hooks.mjs', import.meta.url, { data: { file: process.env.LANDFALL_LOAD_TRACE } });
}
