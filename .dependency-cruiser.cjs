/**
 * The arrows between Landfall's folders, checked by `npm run lint:deps` (run before the tests and
 * so in CI). README "Layout" says what each folder is; the rules say which way knowledge flows:
 *
 *   main.ts → cli/, runtime/ → http/, intake/, queue/, status/, hook-admin/ → sync/ → kube/
 *   and every layer → model/, metrics/, store/, forges/, config/ (leaves and near-leaves)
 *
 * Type-only imports count (tsPreCompilationDeps), because a cycle through types is still a
 * cycle for a reader, and a type import today is a value import after the next refactor.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles between files, type-only ones included: each file can be read knowing only what it imports.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      scope: 'folder',
      comment: 'No cycles between folders either: a folder is a layer, and two layers that know each other are one layer with a seam in it.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'model-is-a-leaf',
      severity: 'error',
      comment: 'model/ holds the words every layer shares (job data, records, changes, forge ids); it imports nothing of Landfall so anything can use it without pulling a layer in.',
      from: { path: '^src/model/' },
      to: { path: '^src/', pathNot: '^src/model/' },
    },
    {
      name: 'metric-families-are-a-leaf',
      severity: 'error',
      comment: 'metrics/ declares the Prometheus families only; the collectors that read queues, Redis or stored checks are wired by runtime/ (process-metrics.ts), so counting a metric never loads another layer.',
      from: { path: '^src/metrics/' },
      to: { path: '^src/', pathNot: '^src/metrics/' },
    },
    {
      name: 'queue-names-are-a-leaf',
      severity: 'error',
      comment: 'queue/names.ts lets the web role, metrics and the CLI name a queue without loading the worker that runs it.',
      from: { path: '^src/queue/names\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'config-imports-only-model',
      severity: 'error',
      comment: 'config/ is read by every layer; it may only borrow shared words from model/.',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(config|model)/' },
    },
    {
      name: 'kube-knows-only-kubernetes',
      severity: 'error',
      comment: 'kube/ is the only place that builds Kubernetes URLs; it speaks the API and knows nothing of syncs, apps or config. unknown.ts is allowed: a leaf that reads caught errors without casts.',
      from: { path: '^src/kube/' },
      to: { path: '^src/', pathNot: '^src/(kube/|unknown\\.ts$)' },
    },
    {
      name: 'store-knows-only-the-model',
      severity: 'error',
      comment: 'store/ is the Redis layout of history and app state; it stores model/ records and decides nothing.',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: '^src/(store|model)/' },
    },
    {
      name: 'forges-are-adapters',
      severity: 'error',
      comment: 'forges/ translates each forge into Landfall words (events, statuses, hooks); it sits at the edge and knows only config and the shared model, so intake, status and hook-admin can all use it. clip.ts is allowed too: a leaf of text-fitting helpers (the GitHub check-run summary is cut to the GitHub limit with it) that imports nothing.',
      from: { path: '^src/forges/' },
      to: { path: '^src/', pathNot: '^src/((forges|config|model)/|clip\\.ts$)' },
    },
    {
      name: 'previews-are-pure',
      severity: 'error',
      comment: "The pure rules of pull-request previews (names, the namespace scaffold, the guard, value substitution) import no client nor the sync engine: only config, the shared model and kube/refs.ts's object types. Their functions depend on their input alone and are tested without a cluster. The rest of previews/ (lifecycle, sweep, store, worker) runs them through the sync pipeline, like status/ runs its handlers.",
      from: { path: '^src/previews/(names|scaffold|guard|substitute)\\.ts$' },
      to: { path: '^src/', pathNot: '^src/((previews|config|model)/|kube/refs\\.ts$)' },
    },
    {
      name: 'sync-is-the-engine',
      severity: 'error',
      comment: 'sync/ deploys, plans and checks drift for whoever calls it (queue workers, the CLI); it reports through listeners and never reaches up into the layers that call it or the web role.',
      from: { path: '^src/sync/' },
      to: { path: '^src/(http|runtime|status|queue|intake|hook-admin|cli|metrics)/|^src/main\\.ts$|^src/notify\\.ts$' },
    },
    {
      name: 'http-loads-no-deploy-machinery',
      severity: 'error',
      comment: 'http/ is what the web role serves; the deploy machinery (sync/, kube/, the queue workers) is loaded only by the worker role, lazily from runtime/serve.ts, so a web process stays small and cannot deploy.',
      from: { path: '^src/http/' },
      to: { path: '^src/(sync|kube|runtime|cli)/|^src/queue/(sync-jobs|plan-jobs|reconcile)\\.ts$|^src/status/worker' },
    },
    {
      name: 'intake-is-independent-of-http',
      severity: 'error',
      comment: 'intake/ (verify → parse → match → enqueue) runs in the web role and does not know it is behind HTTP: no http/, and none of the deploy machinery.',
      from: { path: '^src/intake/' },
      to: { path: '^src/(http|runtime|sync|kube|status|hook-admin|cli)/' },
    },
    {
      name: 'web-role-reaches-no-deploy-machinery',
      severity: 'error',
      comment: 'What the web role imports, directly or not, must not include sync/ or the Kubernetes client: the worker role is imported lazily (serve.ts), and test/runtime/roles.test.ts checks the same at run time.',
      from: { path: '^src/runtime/(web-role|process-metrics)\\.ts$' },
      to: { path: '^src/(sync|kube)/|^src/queue/(sync-jobs|plan-jobs|reconcile)\\.ts$|^src/runtime/worker-role\\.ts$', reachable: true },
    },
    {
      name: 'queue-does-not-reach-up',
      severity: 'error',
      comment: 'queue/ turns jobs into calls of sync/; it knows neither who serves it (http, runtime, cli) nor who reports on it (status, hook-admin).',
      from: { path: '^src/queue/' },
      to: { path: '^src/(http|runtime|cli|status|intake|hook-admin)/|^src/main\\.ts$' },
    },
    {
      name: 'status-does-not-reach-up',
      severity: 'error',
      comment: 'status/ reports on syncs and plans it is told about; the roles wire it in, it does not know them.',
      from: { path: '^src/status/' },
      to: { path: '^src/(http|runtime|cli|intake|hook-admin)/|^src/main\\.ts$' },
    },
    {
      name: 'hook-admin-does-not-reach-up',
      severity: 'error',
      comment: 'hook-admin/ administers repository webhooks for the CLI and the worker role; it deploys nothing and serves nothing.',
      from: { path: '^src/hook-admin/' },
      to: { path: '^src/(http|runtime|cli|intake|sync|kube|status)/|^src/main\\.ts$' },
    },
    {
      name: 'only-main-wires-roles-and-commands',
      severity: 'error',
      comment: 'runtime/ and cli/ are the top: they wire everything; nothing but main.ts (and themselves) imports them.',
      from: { path: '^src/', pathNot: '^src/(main\\.ts$|runtime/|cli/)' },
      to: { path: '^src/(runtime|cli)/' },
    },
    {
      name: 'src-not-to-tests-or-bench',
      severity: 'error',
      comment: 'Shipped code never imports test helpers or benchmarks; they are not in the image.',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'src-not-to-dev-dependencies',
      severity: 'error',
      comment: 'The image installs production dependencies only; a devDependency imported from src/ would fail at run time there (type-only imports are erased and allowed).',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.d.ts'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
