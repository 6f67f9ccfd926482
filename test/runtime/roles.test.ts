// What each role loads: the web role must stay free of the deploy machinery (sync/, the job
// workers, the Kubernetes client), which only `--role worker` and `all` import, lazily.
import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT, runCli } from '../support/process.js';
import { redisForTest } from '../support/redis.js';

/** Starts `serve --role ROLE` with the load trace and returns the URLs it loaded once started. */
async function modulesLoaded(t: { teardown(fn: () => unknown): void }, role: 'web' | 'all', ready: RegExp): Promise<string[]> {
  const { prefix } = await redisForTest(t, 'roles');
  const dir = await mkdtemp(join(tmpdir(), 'landfall-roles-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const trace = join(dir, 'trace.txt');
  // A cluster nobody listens on: starting the workers reads the kubeconfig but calls nothing.
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    'apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster: { server: "https://127.0.0.1:9" }\nusers:\n- name: t\n  user: { token: t }\ncontexts:\n- name: t\n  context: { cluster: t, user: t }\ncurrent-context: t\n',
  );
  const port = await freePort();
  const server = runCli(
    ['serve', '--role', role],
    {
      LANDFALL_PORT: String(port),
      LANDFALL_REDIS_PREFIX: prefix,
      LANDFALL_LOAD_TRACE: trace,
      KUBECONFIG: kubeconfig,
      LANDFALL_WORKER__DATA_DIR: join(dir, 'data'),
      LANDFALL_SERVER__SPOOL_DIR: join(dir, 'spool'),
    },
    ['--import', `${ROOT}test/support/load-trace.mjs`],
  );
  t.teardown(() => server.child.kill('SIGKILL'));
  await server.waitFor(ready);
  const urls = (await readFile(trace, 'utf8')).split('\n').filter(Boolean);
  server.child.kill('SIGTERM');
  await server.exited;
  return urls;
}

const project = (urls: string[]) => urls.filter((u) => u.startsWith(`file://${ROOT}dist/`)).map((u) => u.slice(`file://${ROOT}dist/`.length));

t.test('the web role loads nothing of sync/, the job workers or the Kubernetes client', async (t) => {
  const loaded = project(await modulesLoaded(t, 'web', /landfall web listening/));
  t.ok(loaded.includes('runtime/web-role.js'), 'the trace saw the web role load');
  t.same(
    loaded.filter((m) => m.startsWith('sync/')),
    [],
    'no sync/ module',
  );
  t.same(
    loaded.filter((m) => /^(runtime\/worker-role|queue\/(sync-jobs|plan-jobs|reconcile)|status\/worker|kube\/client)\.js$/.test(m)),
    [],
    'no worker module',
  );
});

t.test('the trace does see sync/ when the role runs workers', async (t) => {
  const loaded = project(await modulesLoaded(t, 'all', /landfall web listening/));
  t.ok(
    loaded.some((m) => m.startsWith('sync/')),
    'a worker loads sync/',
  );
});
