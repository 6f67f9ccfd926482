import t from 'tap';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { configSecrets, createScrubber } from '../../src/log/redact.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

t.test('every configured secret is kept out of log lines, wherever it hides', async (t) => {
  const config = parseConfig(
    `
server: { apiTokens: ["api-token-AAAA"] }
redis: { url: "redis://:redis-pass-BBBB@127.0.0.1:6379" }
forges:
  github: { webhookSecret: ["gh-secret-CCCC", "gh-old-DDDD"], token: "ghp_EEEE" }
  gitlab: { webhookSecret: 'q"uote\\\\back-FFFF', signingToken: "whsec_${Buffer.alloc(32, 7).toString('base64')}", token: "glpat-GGGG" }
`,
    {},
  );
  const secrets = configSecrets(config);
  t.equal(secrets.length, 8, 'all eight secrets found');
  const { lines, destination } = capture();
  const log = createLogger({ secrets, destination, level: 'debug' });
  for (const secret of secrets) {
    log.info({ field: secret }, 'as a field');
    log.info(`in the message ${secret} here`);
    log.error({ err: new Error(`failed with ${secret}`) }, 'as an error');
    log.info({ url: `https://x-access-token:${encodeURIComponent(secret)}@github.com/acme/web.git` }, 'in a URL');
    log.child({ token: secret }).warn('on a child logger');
  }
  log.info({ headers: { authorization: 'Bearer some-other-value', 'x-gitlab-token': 'not-configured' } }, 'credential headers by path');
  log.flush();
  const text = lines.join('');
  t.ok(lines.length >= secrets.length * 5, `${lines.length} lines written`);
  for (const secret of secrets) {
    t.notOk(text.includes(secret), `"${secret.slice(0, 6)}…" absent`);
    t.notOk(text.includes(JSON.stringify(secret).slice(1, -1)), 'absent in JSON-escaped form');
  }
  t.notOk(text.includes('some-other-value'), 'authorization header censored by path');
  t.match(text, /\[REDACTED\]/);
});

t.test('the scrubber leaves other text alone', async (t) => {
  const scrub = createScrubber(['abc.def']);
  t.equal(scrub('x abc.def y abcxdef'), 'x [REDACTED] y abcxdef', 'regex characters are literal');
  t.equal(createScrubber([])('unchanged'), 'unchanged');
});

t.test('every field of a log line appears once, however many child loggers bound it', async (t) => {
  const { parseDocument } = await import('yaml');
  const { configMap } = await import('../support/sync.js');
  const { workerHarness } = await import('../support/workers.js');
  const h = await workerHarness(t);
  const sha = await h.repo.commit({ 'deploy/cm.yaml': configMap('settings') });
  await h.startWorker();
  const jobId = await h.push(sha);
  await h.idle();
  await h.stopWorkers();
  const lines = h.logs.flatMap((chunk) => chunk.split('\n')).filter(Boolean);
  const ofTheSync = lines.filter((line) => line.includes(`"jobId":"${jobId}"`));
  t.ok(ofTheSync.length >= 3, `${ofTheSync.length} lines about the sync`);
  for (const line of lines) {
    // JSON is YAML; a YAML parser that insists on unique keys finds a field written twice, which JSON.parse would hide.
    const duplicates = parseDocument(line, { uniqueKeys: true }).errors.map((e) => e.message.split('\n')[0]);
    t.same(duplicates, [], `no field twice in: ${line.slice(0, 160)}`);
  }
});
