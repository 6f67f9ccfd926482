/**
 * The Kubernetes API test server in a process of its own, so that a benchmark timing Landfall's
 * syncs does not share its event loop and CPU with the server answering them. Started by
 * bench/kube-api.ts as `node --import tsx bench/servers/kube-api.ts` with an IPC channel: it
 * listens on a free port on 127.0.0.1, sends `{ ready: url }`, then answers the parent's calls
 * (`{ id, op, arg }` → `{ id, result }` or `{ id, error }`) and exits when the channel closes.
 */
import { startKubeApiServer, type KubeApiServer } from '../../test/support/kube-api/index.js';
import type { KubeApiCall, KubeApiReply, RequestLine } from '../kube-api.js';

const server = await startKubeApiServer();

/** The request log without bodies and headers: what the benchmarks count. */
function requestLines(s: KubeApiServer): RequestLine[] {
  return s.requests.map((r) => ({ method: r.method, path: r.path, query: r.query, status: r.status }));
}

function answer(call: KubeApiCall): unknown {
  switch (call.op) {
    case 'put':
      return server.put(call.arg);
    case 'get':
      return server.get(call.arg) ?? null;
    case 'clearRequests':
      server.clearRequests();
      return null;
    case 'stats':
      return server.stats();
    case 'requests':
      return requestLines(server);
  }
}

process.on('message', (call: KubeApiCall) => {
  let reply: KubeApiReply;
  try {
    reply = { id: call.id, result: answer(call) };
  } catch (err) {
    reply = { id: call.id, error: err instanceof Error ? err.message : String(err) };
  }
  process.send?.(reply);
});
// The parent gone (or done): stop listening and leave.
process.on('disconnect', () => void server.stop().finally(() => process.exit(0)));
process.send?.({ ready: server.url });
