// How deliveries become preview jobs: pull-request events of an app with previews queue one (beside
// the plan), closing and label changes queue one (and no plan), and only a comment carrying the
// approval word does; apps without previews see none of it.
import t from 'tap';
import { createAppIndex } from '../../src/apps/match.js';
import { parseConfig } from '../../src/config/load.js';
import { createDeliveryHandler } from '../../src/intake/handle.js';
import { createLogger } from '../../src/log/logger.js';
import type { IntakeItem } from '../../src/queue/producer.js';
import { KITS } from '../support/sign.js';

const SECRET = 'preview-intake-secret';
const SHA = 'a'.repeat(40);

function handler(previews: boolean) {
  const config = parseConfig(
    `forges: { gitea: { webhookSecret: ${SECRET}, url: "https://gitea.test" } }\napps:\n  - { name: web, forge: gitea, repo: acme/web, branch: main, namespace: web${previews ? ', previews: {}' : ''} }\n`,
    {},
  );
  const queued: IntakeItem[][] = [];
  const handle = createDeliveryHandler({
    config,
    apps: createAppIndex(config.apps),
    log: createLogger({ level: 'silent' }),
    intake: {
      async enqueue(_forge, _id, items) {
        queued.push([...items]);
        return { duplicate: false, accepted: items.map((i) => ({ app: i.data.app, sha: '', jobId: 'j' })) };
      },
    },
  });
  const send = async (event: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    return handle({
      forge: 'gitea',
      headers: { 'content-type': 'application/json', ...KITS.gitea.eventHeaders(event), ...(await KITS.gitea.sign(body, SECRET)) },
      body: Buffer.from(body),
    });
  };
  return { send, queued };
}

const kit = KITS.gitea;

t.test('an app with previews: pull-request events queue a preview job beside the plan; an approval comment queues one', async (t) => {
  const { send, queued } = handler(true);
  t.equal((await send(kit.pullRequestEvent('opened'), kit.pullRequest('acme/web', 4, 'opened', SHA, 'feature', 'main'))).status, 202);
  t.same(
    queued.at(-1)?.map((i) => i.kind),
    ['plan', 'preview'],
  );
  t.match(queued.at(-1)?.[1], {
    kind: 'preview',
    data: { app: 'web', number: 4, cause: 'opened', pullRequest: { state: 'open', headSha: SHA, headBranch: 'feature' } },
  });

  const plain = await send(kit.commentEvent, kit.comment('acme/web', 4, 'someone', 'looks good'));
  t.equal(plain.status, 200, 'a comment without the approval word is ignored');
  t.equal(queued.length, 1, 'and queues nothing');
  const approval = await send(kit.commentEvent, kit.comment('acme/web', 4, 'maintainer', `/landfall preview ${SHA}`));
  t.equal(approval.status, 202);
  t.match(queued.at(-1), [{ kind: 'preview', data: { number: 4, cause: 'comment' } }], 'an approval comment queues a look at the pull request');
});

t.test('an app without previews: plans as before, and comments are ignored', async (t) => {
  const { send, queued } = handler(false);
  await send(kit.pullRequestEvent('opened'), kit.pullRequest('acme/web', 4, 'opened', SHA, 'feature', 'main'));
  t.same(
    queued.at(-1)?.map((i) => i.kind),
    ['plan'],
  );
  const approval = await send(kit.commentEvent, kit.comment('acme/web', 4, 'maintainer', `/landfall preview ${SHA}`));
  t.equal(approval.status, 200);
  t.equal(queued.length, 1);
});
