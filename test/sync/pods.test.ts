// Which pod states fail a rollout early (the real control plane shows them end to end in
// test/real/kube/correctness.test.ts; the test server creates no pods).
import t from 'tap';
import { podProblem, selectorString } from '../../src/sync/pods.js';

const pod = (status: object) => ({ metadata: { name: 'web-5d7f-x2' }, status });

t.test('terminal container states, with the container, exit code and message', async (t) => {
  t.same(
    podProblem(
      pod({
        phase: 'Running',
        containerStatuses: [
          {
            name: 'web',
            restartCount: 4,
            lastState: { terminated: { exitCode: 1 } },
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s' } },
          },
        ],
      }),
    ),
    { pod: 'web-5d7f-x2', reason: 'CrashLoopBackOff', detail: 'container web, last exit code 1 after 4 restarts: back-off 1m20s' },
  );
  t.match(
    podProblem(
      pod({ phase: 'Pending', containerStatuses: [{ name: 'web', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } }] }),
    ),
    { reason: 'ImagePullBackOff', detail: 'container web: Back-off pulling image' },
  );
  t.match(
    podProblem(
      pod({
        phase: 'Pending',
        initContainerStatuses: [{ name: 'init', state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "db" not found' } } }],
      }),
    ),
    { reason: 'CreateContainerConfigError', detail: 'container init: secret "db" not found' },
  );
  t.match(
    podProblem(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] })),
    { reason: 'Unschedulable', detail: '0/3 nodes are available' },
  );
});

t.test('states a pod gets past by itself are not problems', async (t) => {
  t.equal(podProblem(pod({ phase: 'Pending', containerStatuses: [{ name: 'web', state: { waiting: { reason: 'ContainerCreating' } } }] })), undefined);
  t.equal(podProblem(pod({ phase: 'Running', containerStatuses: [{ name: 'web', state: { running: {} } }] })), undefined);
  t.equal(podProblem(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] })), undefined);
});

t.test('label selectors in query syntax', async (t) => {
  t.equal(
    selectorString({
      matchLabels: { app: 'web', tier: 'front' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['a', 'b'] },
        { key: 'x', operator: 'DoesNotExist' },
        { key: 'y', operator: 'Exists' },
        { key: 'z', operator: 'NotIn', values: ['c'] },
      ],
    }),
    'app=web,tier=front,env in (a,b),!x,y,z notin (c)',
  );
  t.equal(selectorString({}), undefined);
  t.equal(selectorString(undefined), undefined);
});
