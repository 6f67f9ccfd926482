// previews.values: strings replaced in every string value of the rendered objects, with template
// variables expanded; identity, map keys and base64 data left alone; a count per key.
import t from 'tap';
import { TemplateError } from '../../src/config/previews.js';
import type { KubeObject } from '../../src/kube/refs.js';
import { substituteValues } from '../../src/previews/substitute.js';

const VARS = { app: 'shop', number: '7', namespace: 'pv-shop-7', sha: '0123456789abcdef0123456789abcdef01234567', shortSha: '0123456' };
const entry = (obj: unknown, source = 'deploy/a.yaml#1') => ({ obj: obj as KubeObject, source });

t.test('every string value, at any depth, in every object; a count per key', async (t) => {
  const ingress = entry({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', annotations: { 'external-dns.alpha.kubernetes.io/hostname': 'web.example.com' } },
    spec: { tls: [{ hosts: ['web.example.com'] }], rules: [{ host: 'web.example.com', http: { paths: [{ path: '/', pathType: 'Prefix' }] } }] },
  });
  const deployment = entry(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        template: {
          spec: { containers: [{ name: 'web', image: 'registry.example.com/web:IMAGE_TAG', env: [{ name: 'URL', value: 'https://web.example.com/' }] }] },
        },
      },
    },
    'deploy/web.yaml#1',
  );
  const result = substituteValues([ingress, deployment], { 'web.example.com': 'pr-{number}.preview.example.com', IMAGE_TAG: '{shortSha}', unused: 'x' }, VARS);
  t.same(result.counts, { 'web.example.com': 4, IMAGE_TAG: 1, unused: 0 }, 'a key that matched nothing says so');
  t.same(result.objects[0]?.obj.spec, {
    tls: [{ hosts: ['pr-7.preview.example.com'] }],
    rules: [{ host: 'pr-7.preview.example.com', http: { paths: [{ path: '/', pathType: 'Prefix' }] } }],
  });
  t.same(result.objects[0]?.obj.metadata.annotations, { 'external-dns.alpha.kubernetes.io/hostname': 'pr-7.preview.example.com' });
  t.match(result.objects[1], {
    source: 'deploy/web.yaml#1',
    obj: {
      spec: {
        replicas: 2,
        template: { spec: { containers: [{ image: 'registry.example.com/web:0123456', env: [{ name: 'URL', value: 'https://pr-7.preview.example.com/' }] }] } },
      },
    },
  });
  t.equal(ingress.obj.spec && (ingress.obj.spec as { rules: { host: string }[] }).rules[0]?.host, 'web.example.com', 'the input is not modified');
});

t.test("map keys and an object's identity stay as they are", async (t) => {
  const cm = entry({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'shop', namespace: 'shop', labels: { shop: 'shop' }, annotations: { 'shop/x': 'shop' } },
    data: { shop: 'shop', 'shop.conf': 'server_name shop;' },
  });
  const { objects, counts } = substituteValues([cm], { shop: 'pv' }, VARS);
  t.same(objects[0]?.obj, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'shop', namespace: 'shop', labels: { shop: 'pv' }, annotations: { 'shop/x': 'pv' } },
    data: { shop: 'pv', 'shop.conf': 'server_name pv;' },
  });
  t.equal(counts.shop, 4);
  const generated = substituteValues([entry({ apiVersion: 'batch/v1', kind: 'Job', metadata: { generateName: 'Job-' } })], { Job: 'x', 'batch/v1': 'y' }, VARS);
  t.same(generated.objects[0]?.obj, { apiVersion: 'batch/v1', kind: 'Job', metadata: { generateName: 'Job-' } });
  t.same(generated.counts, { Job: 0, 'batch/v1': 0 });
});

t.test("a Secret's data and a ConfigMap's binaryData are not touched; a Secret's stringData is", async (t) => {
  const encoded = Buffer.from('https://web.example.com').toString('base64');
  const secret = entry({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's' },
    data: { url: encoded },
    stringData: { callback: 'https://web.example.com/cb' },
  });
  const cm = entry({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, binaryData: { raw: 'web.example.com' }, data: { host: 'web.example.com' } });
  const { objects, counts } = substituteValues([secret, cm], { 'web.example.com': 'pr-{number}.example.com' }, VARS);
  t.same(objects[0]?.obj.data, { url: encoded });
  t.same(objects[0]?.obj.stringData, { callback: 'https://pr-7.example.com/cb' });
  t.same(objects[1]?.obj.binaryData, { raw: 'web.example.com' }, 'even where it would match');
  t.same(objects[1]?.obj.data, { host: 'pr-7.example.com' });
  t.equal(counts['web.example.com'], 2);
  const custom = substituteValues(
    [entry({ apiVersion: 'example.com/v1', kind: 'Secret', metadata: { name: 'x' }, data: { a: 'web.example.com' } })],
    { 'web.example.com': 'y' },
    VARS,
  );
  t.same(custom.objects[0]?.obj.data, { a: 'y' }, 'only the core Secret kind is opaque');
});

t.test('one pass, longest key first: order does not matter and replaced text is not searched again', async (t) => {
  const obj = entry({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'web.example.com and example.com', b: 'example.com' } });
  const forward = substituteValues([obj], { 'example.com': 'preview.example.com', 'web.example.com': 'pr-{number}.example.com' }, VARS);
  const backward = substituteValues([obj], { 'web.example.com': 'pr-{number}.example.com', 'example.com': 'preview.example.com' }, VARS);
  t.same(forward.objects[0]?.obj.data, { a: 'pr-7.example.com and preview.example.com', b: 'preview.example.com' });
  t.same(backward.objects, forward.objects);
  t.same(forward.counts, { 'example.com': 2, 'web.example.com': 1 });
  const regexChars = substituteValues(
    [entry({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'a+b (c) a.b' } })],
    { 'a+b': 'x', 'a.b': 'y' },
    VARS,
  );
  t.same(regexChars.objects[0]?.obj.data, { a: 'x (c) y' }, 'keys are literal text');
});

t.test('no values: copies, unchanged; a value with a variable not given throws before anything changes', async (t) => {
  const obj = entry({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } });
  const none = substituteValues([obj], {}, VARS);
  t.same(none, { objects: [obj], counts: {} });
  t.not(none.objects[0]?.obj, obj.obj, 'a copy');
  t.throws(() => substituteValues([obj], { b: '{sha}' }, { app: 'shop' }), TemplateError);
  t.same(obj.obj.data, { a: 'b' });
});

t.test('rendered documents not yet validated do not break it', async (t) => {
  const { objects } = substituteValues(
    [entry({ kind: 'ConfigMap', data: { a: 'x' } }), entry({ apiVersion: 'v1', kind: 'Secret', data: { a: 'x' } })],
    { x: 'y' },
    VARS,
  );
  t.same(
    objects.map((o) => o.obj),
    [
      { kind: 'ConfigMap', data: { a: 'y' } },
      { apiVersion: 'v1', kind: 'Secret', data: { a: 'x' } },
    ],
  );
});
