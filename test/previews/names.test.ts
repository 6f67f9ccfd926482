// The names a preview goes by: its namespace (a DNS label, cut with a hash), its records' name,
// its forge environment, and the template grammar behind them.
import t from 'tap';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { expandTemplate, previewOf, TemplateError, templateProblems } from '../../src/config/previews.js';
import { dnsLabel, environmentName, previewAppName, previewNamespace, previewUrl, previewVars } from '../../src/previews/names.js';
import { previewApp } from '../support/preview-app.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

t.test('expandTemplate replaces every variable it is given, and leaves other braces alone', async (t) => {
  t.equal(expandTemplate('pr-{number}.{app}.example.com', { app: 'shop', number: '12' }), 'pr-12.shop.example.com');
  t.equal(
    expandTemplate('{shortSha}/{sha}/{namespace}/{number}{number}', { sha: SHA, shortSha: '0123456', namespace: 'pv', number: '7' }),
    `0123456/${SHA}/pv/77`,
  );
  t.equal(expandTemplate('{"a": 1} { app } {}', { app: 'x' }), '{"a": 1} { app } {}', 'not {name}: literal text');
});

t.test('expandTemplate refuses an unknown variable, and one not available here, listing all of them', async (t) => {
  const err = t.throws(() => expandTemplate('{app}-{branch}-{Number}-{sha}', { app: 'shop', number: '1' })) as TemplateError;
  t.ok(err instanceof TemplateError);
  t.equal(err.code, 'TEMPLATE_INVALID');
  t.same(err.problems, [
    '{branch} is not a variable; use {app}, {number}',
    '{Number} is not a variable (did you mean {number}?); use {app}, {number}',
    '{sha} cannot be used here; use {app}, {number}',
  ]);
  t.match(err.message, /^template "\{app\}-\{branch\}-\{Number\}-\{sha\}": \{branch\} is not a variable/);
});

t.test('templateProblems checks a template against what its place allows', async (t) => {
  t.same(templateProblems('pv-{app}-{number}', ['app', 'number']), []);
  t.same(templateProblems('pv-{app}-{sha}-{sha}', ['app', 'number']), ['{sha} cannot be used here; use {app}, {number}'], 'each variable once');
  t.same(templateProblems('{nope}', ['app', 'number', 'namespace', 'sha', 'shortSha']), [
    '{nope} is not a variable; use {app}, {number}, {namespace}, {sha}, {shortSha}',
  ]);
});

t.test('previewNamespace expands the template and makes it a DNS label', async (t) => {
  t.equal(previewNamespace(previewApp(), 12), 'pv-shop-12', 'the default template');
  t.equal(previewNamespace(previewApp('{ namespace: "Preview_{app}.{number}--x" }'), 3), 'preview-shop-3--x', 'lowercased; other characters become one "-"');
  t.equal(previewNamespace(previewApp('{ namespace: "__{number}__" }'), 3), '3', 'no "-" at either end');
});

t.test('a namespace longer than 63 characters is cut and ends with a hash of the whole', async (t) => {
  const long = previewApp(`{ namespace: "preview-of-the-application-{app}-for-the-pull-request-number-{number}" }`, 'a-rather-long-application-name');
  const a = previewNamespace(long, 1234);
  const b = previewNamespace(long, 1235);
  t.equal(a.length, 63);
  t.equal(b.length, 63);
  t.match(a, LABEL);
  t.not(a, b, 'two names that differ only past the cut still differ');
  t.equal(a.slice(0, 54), b.slice(0, 54), 'they share the cut prefix');
  t.match(a, /^preview-of-the-application-a-rather-long-application-n-[0-9a-f]{8}$/);
  t.equal(previewNamespace(long, 1234), a, 'stable');
  // A cut that lands on a "-" does not leave "--" before the hash.
  const cut = dnsLabel(`${'a'.repeat(53)}-${'b'.repeat(20)}`);
  t.match(cut, /^a{53}-[0-9a-f]{8}$/);
  t.equal(dnsLabel('x'.repeat(63)), 'x'.repeat(63), 'exactly 63 is kept whole');
});

t.test('previewAppName and environmentName: <app>-pr-<n>, a label, never another app', async (t) => {
  const app = previewApp();
  t.equal(previewAppName(app, 42), 'shop-pr-42');
  t.equal(environmentName(app, 42), 'shop-pr-42');
  const longest = previewApp('{}', 'a'.repeat(30));
  t.match(previewAppName(longest, Number.MAX_SAFE_INTEGER), LABEL);
  t.ok(previewAppName(longest, Number.MAX_SAFE_INTEGER).length <= 63, 'the longest app and number fit a label');
  t.same(previewOf(previewAppName(app, 42)), { app: 'shop', number: 42 }, 'the config loader reads it back');
  t.same(previewOf('shop-pr-1-pr-2'), { app: 'shop-pr-1', number: 2 });
  t.equal(previewOf('shop-pr-01'), undefined, 'no number has a leading zero');
  t.equal(previewOf('shop'), undefined);
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => previewAppName(app, bad), RangeError, `${bad} is not a pull request`);
    t.throws(() => previewNamespace(app, bad), RangeError);
  }
});

t.test('the config loader refuses an app named like the preview of an app with previews', async (t) => {
  const yaml = (previews: string) => `
forges: { github: { webhookSecret: test-webhook-secret } }
apps:
  - { name: shop, forge: github, repo: acme/shop, branch: main, namespace: shop${previews} }
  - { name: ${previewAppName({ name: 'shop' }, 3)}, forge: github, repo: acme/other, branch: main, namespace: other }
`;
  const err = t.throws(() => parseConfig(yaml(', previews: {}'), {})) as ConfigError;
  t.same(err.problems, [
    { path: 'apps[1].name', message: '"shop-pr-3" is the name the preview of pull request 3 of apps[0] ("shop") goes by; rename this app' },
  ]);
  t.doesNotThrow(() => parseConfig(yaml(''), {}), 'without previews, the name is free');
});

t.test('previewVars and previewUrl', async (t) => {
  const app = previewApp('{ url: "https://{shortSha}.pr-{number}.{app}.example.com/{namespace}" }');
  t.same(previewVars(app, 5, SHA), { app: 'shop', number: '5', namespace: 'pv-shop-5', sha: SHA, shortSha: '0123456' });
  t.equal(previewUrl(app, 5, SHA), 'https://0123456.pr-5.shop.example.com/pv-shop-5');
  t.equal(previewUrl(previewApp(), 5, SHA), undefined, 'no url configured');
  t.throws(() => previewVars(app, 5, 'main'), /"main" is not a commit sha/);
  t.throws(() => previewNamespace({ name: 'shop', previews: undefined }, 1), /app "shop" has no previews: block/);
});
