import autocannon from 'autocannon';
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples');
const push = examples.find((e) => e.name === 'push').examples.find((e) => e.ref === 'refs/heads/master');
const payload = { ...push, repository: { ...push.repository, full_name: 'acme/web' } };
let body = JSON.stringify(payload);
// pad to ~10 KB with commits
while (body.length < 10_000) { payload.commits = [...(payload.commits||[]), ...(push.commits||[{id:'x'.repeat(40), message:'m'.repeat(200)}])]; body = JSON.stringify(payload); }
const sig = 'sha256=' + createHmac('sha256', 'bench-secret-123').update(body).digest('hex');
const url = process.argv[2];
const r = await autocannon({ url, method: 'POST', connections: 20, duration: Number(process.argv[3] ?? 5), body,
  headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': sig },
  requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-github-delivery': randomUUID() } }) }] });
console.log(JSON.stringify({ bytes: body.length, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, statusCodes: r.statusCodeStats }));
