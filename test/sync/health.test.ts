// kstatus rules, one real-shaped object per file in test/sync/testdata/health/ (in the manner of
// gitops-engine's pkg/health/testdata): the first line of each file says what it must compute,
// `# expect: <status> [<reason>]`.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import type { KubeObject } from '../../src/kube/refs.js';
import { computeHealth } from '../../src/sync/health.js';

const dir = fileURLToPath(new URL('./testdata/health/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

t.ok(files.length >= 20, `${files.length} cases`);
for (const file of files) {
  const text = readFileSync(dir + file, 'utf8');
  const expect = /^# expect: (\w+)(?: (\w+))?/.exec(text);
  t.test(file, async (t) => {
    t.ok(expect, 'the file says what it expects');
    const health = computeHealth(parse(text) as KubeObject);
    t.equal(health.status, expect![1], health.message);
    if (expect![2]) t.equal(health.reason, expect![2]);
  });
}
