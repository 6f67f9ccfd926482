// The documentation stays true to the code.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../src/config/load.js';
import { KNOWN_KEYS } from '../src/config/schema.js';
import { ROOT } from './support/process.js';

const example = readFileSync(`${ROOT}landfall.example.yaml`, 'utf8');
const readme = readFileSync(`${ROOT}README.md`, 'utf8');
const envExample = readFileSync(`${ROOT}.env.example`, 'utf8');

t.test('landfall.example.yaml is a valid configuration once its variables are set', async (t) => {
  const vars = [...new Set([...example.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]!))].filter((v) => v !== 'VAR');
  const env = Object.fromEntries(vars.map((v) => [v, v === 'GITLAB_SIGNING_TOKEN' ? `whsec_${Buffer.alloc(32, 3).toString('base64')}` : v.endsWith('_URL') ? `https://example.com/${v}` : `value-of-${v}`]));
  const config = parseConfig(example, env, 'landfall.example.yaml');
  t.equal(config.apps[0]?.name, 'guestbook');
  for (const v of vars) t.match(envExample, new RegExp(`^${v}=`, 'm'), `.env.example lists ${v}`);
});

t.test('every configuration key is documented in the example and the README', async (t) => {
  for (const key of KNOWN_KEYS) {
    t.match(example, new RegExp(`\\b${key}\\b`), `example mentions ${key}`);
    t.match(readme, new RegExp(`\\b${key}\\b`), `README mentions ${key}`);
  }
});

t.test('the README shows the two set-up commands', async (t) => {
  t.match(readme, /npm ci && npm start/);
  t.match(readme, /npm test/);
});
