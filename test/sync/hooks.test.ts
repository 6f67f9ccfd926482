// Hook and wave classification, as a table: Landfall's, Argo CD's and Helm's annotations.
import t from 'tap';
import { classify, hookKey } from '../../src/sync/hooks.js';

const hook = (phase: string, weight = 0, deletePolicies = ['before-hook-creation']) => ({ role: 'hook', phase, weight, deletePolicies });

t.test('annotations → role, phase, wave, weight and delete policies', async (t) => {
  const table: [string, Record<string, string> | undefined, Record<string, unknown>][] = [
    ['no annotations', undefined, { role: 'object', wave: 0 }],
    ['landfall wave', { 'landfall.dev/wave': '2' }, { role: 'object', wave: 2 }],
    ['negative wave', { 'landfall.dev/wave': '-1' }, { role: 'object', wave: -1 }],
    ['argo sync-wave', { 'argocd.argoproj.io/sync-wave': '-3' }, { role: 'object', wave: -3 }],
    ['landfall wave wins over argo', { 'landfall.dev/wave': '1', 'argocd.argoproj.io/sync-wave': '5' }, { role: 'object', wave: 1 }],
    ['wave not a number', { 'landfall.dev/wave': 'first' }, { role: 'invalid' }],
    ['landfall pre-sync', { 'landfall.dev/hook': 'pre-sync' }, hook('pre-sync')],
    [
      'landfall post-sync, deleted on success',
      { 'landfall.dev/hook': 'post-sync', 'landfall.dev/hook-delete-policy': 'hook-succeeded' },
      hook('post-sync', 0, ['hook-succeeded']),
    ],
    ['landfall sync-fail', { 'landfall.dev/hook': 'sync-fail' }, hook('sync-fail')],
    ['landfall unknown phase', { 'landfall.dev/hook': 'before' }, { role: 'invalid' }],
    ['argo PreSync', { 'argocd.argoproj.io/hook': 'PreSync' }, hook('pre-sync')],
    ['argo PostSync with wave as weight', { 'argocd.argoproj.io/hook': 'PostSync', 'argocd.argoproj.io/sync-wave': '3' }, hook('post-sync', 3)],
    ['argo SyncFail', { 'argocd.argoproj.io/hook': 'SyncFail' }, hook('sync-fail')],
    ['argo Sync is an ordinary object in its wave', { 'argocd.argoproj.io/hook': 'Sync', 'argocd.argoproj.io/sync-wave': '1' }, { role: 'object', wave: 1 }],
    ['argo Skip', { 'argocd.argoproj.io/hook': 'Skip' }, { role: 'skipped' }],
    [
      'argo delete policies',
      { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded,BeforeHookCreation' },
      hook('pre-sync', 0, ['hook-succeeded', 'before-hook-creation']),
    ],
    ['argo HookFailed', { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/hook-delete-policy': 'HookFailed' }, hook('pre-sync', 0, ['hook-failed'])],
    ['argo unknown policy', { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/hook-delete-policy': 'Never' }, { role: 'invalid' }],
    ['argo unknown hook', { 'argocd.argoproj.io/hook': 'PreDeploy' }, { role: 'invalid' }],
    ['helm pre-install', { 'helm.sh/hook': 'pre-install' }, hook('pre-sync')],
    ['helm pre-upgrade with weight', { 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '-5' }, hook('pre-sync', -5)],
    ['helm post-install', { 'helm.sh/hook': 'post-install, post-upgrade' }, hook('post-sync')],
    [
      'helm delete policies',
      { 'helm.sh/hook': 'post-upgrade', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' },
      hook('post-sync', 0, ['before-hook-creation', 'hook-succeeded']),
    ],
    ['helm hook-failed', { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-delete-policy': 'hook-failed' }, hook('pre-sync', 0, ['hook-failed'])],
    ['helm test is skipped', { 'helm.sh/hook': 'test' }, { role: 'skipped' }],
    ['helm pre-delete is skipped', { 'helm.sh/hook': 'pre-delete' }, { role: 'skipped' }],
    ['helm post-delete is skipped', { 'helm.sh/hook': 'post-delete' }, { role: 'skipped' }],
    ['helm pre-rollback is skipped', { 'helm.sh/hook': 'pre-rollback' }, { role: 'skipped' }],
    ['helm post-rollback is skipped', { 'helm.sh/hook': 'post-rollback' }, { role: 'skipped' }],
    ['helm weight not a number', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': 'high' }, { role: 'invalid' }],
    ['helm unknown hook', { 'helm.sh/hook': 'pre-deploy' }, { role: 'invalid' }],
    ['landfall wins over helm', { 'landfall.dev/hook': 'post-sync', 'helm.sh/hook': 'pre-install' }, hook('post-sync')],
    ['argo wins over helm', { 'argocd.argoproj.io/hook': 'PostSync', 'helm.sh/hook': 'pre-install' }, hook('post-sync')],
  ];
  for (const [name, annotations, want] of table) {
    const got = classify(annotations ? { annotations } : undefined);
    t.match(got, want, name);
    if (got.role === 'hook') t.same(got.deletePolicies, want.deletePolicies, `${name}: policies`);
  }
});

t.test('skipped and invalid say why', async (t) => {
  const test = classify({ annotations: { 'helm.sh/hook': 'test' } });
  t.match(test, { role: 'skipped', reason: /helm\.sh\/hook: test .*only install and upgrade hooks/ });
  const bad = classify({ annotations: { 'landfall.dev/hook': 'later' } });
  t.match(bad, { role: 'invalid', problem: /"later" is not one of pre-sync, post-sync, sync-fail/ });
});

t.test('hook keys are label values', async (t) => {
  t.equal(hookKey('upgrade-sql-schema-'), 'upgrade-sql-schema');
  t.equal(hookKey('migrate'), 'migrate');
  const long = hookKey(`${'a'.repeat(80)}-`);
  t.ok(long.length <= 63);
  t.match(long, /^a+-[0-9a-f]{8}$/);
  t.not(hookKey(`${'a'.repeat(70)}x`), hookKey(`${'a'.repeat(70)}y`), 'long names stay apart');
});

t.test('Helm template paths are named by where the chart is in the repository', async (t) => {
  const { inRepository } = await import('../../src/sync/render/helm.js');
  t.equal(inRepository('helm-guestbook/templates/rollout.yaml', 'helm-guestbook', 'blue-green'), 'blue-green/templates/rollout.yaml');
  t.equal(
    inRepository('helm template failed: Error: template: helm-guestbook/templates/rollout.yaml:5:3: executing', 'helm-guestbook', 'blue-green'),
    'helm template failed: Error: template: blue-green/templates/rollout.yaml:5:3: executing',
  );
  t.equal(inRepository('web/charts/redis/templates/x.yaml', 'web', '.'), 'charts/redis/templates/x.yaml', 'a chart at the repository root');
  t.equal(inRepository('other/templates/x.yaml', 'web', 'chart'), 'other/templates/x.yaml', 'another name is left alone');
});

t.test('a plan lists hooks apart, in the order a deploy runs them', async (t) => {
  const { plannedHooks } = await import('../../src/sync/hooks.js');
  const d = (name: string, phase: 'pre-sync' | 'post-sync' | 'sync-fail', weight = 0, generate = false) => ({
    obj: { apiVersion: 'batch/v1', kind: 'Job', metadata: generate ? { name: '', generateName: name, namespace: 'web' } : { name, namespace: 'web' } },
    source: 'x',
    id: name,
    namespaced: true,
    newKind: false,
    hook: { phase, weight, deletePolicies: ['before-hook-creation' as const], key: name, generated: generate, source: 'x' },
  });
  t.same(plannedHooks([d('smoke', 'post-sync'), d('upgrade-sql-schema-', 'pre-sync', 1, true), d('backup', 'pre-sync', -1)]), [
    { phase: 'pre-sync', kind: 'Job', namespace: 'web', name: 'backup' },
    { phase: 'pre-sync', kind: 'Job', namespace: 'web', name: 'upgrade-sql-schema-*' },
    { phase: 'post-sync', kind: 'Job', namespace: 'web', name: 'smoke' },
  ]);
});
