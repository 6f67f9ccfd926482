import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { AppConfig, Config } from '../config/schema.js';
import { gitSource } from '../forges/clone.js';
import type { KubeClient } from '../kube/client.js';
import { objectId, type KubeObject } from '../kube/refs.js';
import type { PhaseName } from '../model/records.js';
import { createResourceManager, type DryRunResult, type ResourceManager } from './apply.js';
import type { VerifiedObject } from '../model/records.js';
import type { Git } from './checkout.js';
import { SyncError } from './errors.js';
import { skipFinishedJobs } from './finished-jobs.js';
import { createInventory, type Inventory, type InventoryEntry } from './inventory.js';
import { FIELD_MANAGER } from './labels.js';
import { renderApp, type RenderDecryption, type RenderLimits, type RenderTools } from './render/index.js';
import type { RenderedObject } from './render/types.js';
import { validateObjects, type DesiredObject } from './validate.js';

/** Where the objects verified by the last sync are kept (the history store). */
export interface VerifiedStore {
  load(app: string): Promise<Map<string, VerifiedObject>>;
  save(app: string, verified: Map<string, VerifiedObject>): Promise<void>;
}

/** What preparing a commit needs. */
export interface PrepareDeps {
  git: Git;
  tools: RenderTools;
  limits: RenderLimits;
  forges: Config['forges'];
  kube(cluster: string): Promise<KubeClient>;
  /** Requests in flight at once while dry-running and applying. */
  applyConcurrency?: number;
  /** What the last sync verified: objects provably unchanged since skip their dry-run. */
  verified?: VerifiedStore;
  /** age identities for SOPS-encrypted files; without them such files fail the render. */
  decryption?: RenderDecryption;
}

/** An object to apply; a synthetic one (the app's namespace) is not in Git and not in the inventory. */
export type Desired = DesiredObject & { synthetic?: boolean };

/**
 * What a deploy, a plan and a drift check do alike, and how they differ:
 * - `deploy` creates the app's namespace (with `createNamespace`) when it is missing;
 * - `plan` assumes it will be (and writes nothing);
 * - `drift` compares what is deployed, so nothing in it is new.
 */
export type PrepareMode = 'deploy' | 'plan' | 'drift';

/** Hooks a prepare step reports to (the record's phases and log); all optional. */
export interface PrepareSteps {
  enter?(phase: PhaseName): Promise<void>;
  note?(level: 'info' | 'warn' | 'error', msg: string): void;
}

/**
 * What a preview changes about preparing a commit (src/previews): its rendered objects are
 * rewritten before validation (values substituted, forced into the preview's namespace), checked
 * after it (what a preview may apply), and applied through a client of its own (a restricted
 * identity).
 */
export interface PrepareOverrides {
  rewrite?(objects: RenderedObject[]): RenderedObject[];
  /** The validated objects as a preview applies them; throws a SyncError naming every object it may not. */
  check?(objects: DesiredObject[], note: (level: 'info' | 'warn', msg: string) => void): DesiredObject[];
  client?: KubeClient;
}

/** A commit checked out, rendered, validated and dry-run, ready to diff or apply. */
export interface Prepared {
  client: KubeClient;
  manager: ResourceManager;
  inventory: Inventory;
  /** The inventory as the previous deploy left it. */
  previous: { entries: InventoryEntry[]; revision?: string };
  /** The objects to apply (hooks are not among them). */
  desired: Desired[];
  /** Hook objects, run at their phase of a deploy instead of applied: never dry-run, diffed or pruned. */
  hooks: Desired[];
  /** Namespaces that this commit (or createNamespace) brings. */
  createdHere: Set<string>;
  dry: DryRunResult;
  /** Removes the checkout. */
  dispose(): Promise<void>;
}

/**
 * The one prepare step of deploys, plans and drift checks: check out the commit, render it,
 * validate every object, and dry-run all of them against the cluster (all or nothing before
 * the first write). Finished Jobs their TTL removed are marked skipped from the inventory.
 */
export async function prepare(
  deps: PrepareDeps,
  app: AppConfig,
  sha: string,
  mode: PrepareMode,
  steps: PrepareSteps = {},
  overrides: PrepareOverrides = {},
): Promise<Prepared> {
  await steps.enter?.('checkout');
  const checkout = await deps.git.checkout(gitSource(app, deps.forges), sha);
  try {
    await steps.enter?.('render');
    const rendered = await renderApp(checkout.dir, app, deps.limits, deps.tools, deps.decryption);
    if (overrides.rewrite) rendered.objects = overrides.rewrite(rendered.objects);
    steps.note?.('info', `rendered ${rendered.objects.length} object${rendered.objects.length === 1 ? '' : 's'} (${rendered.mode})`);
    if (rendered.objects.length === 0 && !app.allowEmpty && mode !== 'drift') {
      const found = await whatIsThere(join(checkout.dir, app.path));
      const client = overrides.client ?? (await deps.kube(app.cluster));
      const deployed =
        (
          await createInventory(client, { app: app.name, namespace: app.namespace })
            .read()
            .catch(() => ({ entries: [] }))
        ).entries.length > 0;
      throw new SyncError(
        'EMPTY_RENDER',
        mode === 'plan'
          ? `${app.path} renders no objects (${found}); merging this would be refused (set allowEmpty: true if an empty app is intended)`
          : deployed
            ? `${app.path} rendered no objects; refusing to prune everything this app deployed (${found}; set allowEmpty: true if an empty app is intended)`
            : `${app.path} has nothing Landfall can render: ${found}; nothing was deployed (point the app's path at YAML or JSON manifests, a kustomization or a Helm chart)`,
      );
    }

    await steps.enter?.('validate');
    const client = overrides.client ?? (await deps.kube(app.cluster));
    const inventory = createInventory(client, { app: app.name, namespace: app.namespace });
    const skipped: string[] = [];
    const validated: Desired[] = await validateObjects(rendered.objects, app, (v, k) => client.resource(v, k), inventory.id, skipped);
    for (const line of skipped) steps.note?.('info', line);
    const checked = overrides.check ? overrides.check(validated, (level, msg) => steps.note?.(level, msg)) : validated;
    const desired = checked.filter((d) => !d.hook);
    const hooks = checked.filter((d) => d.hook);
    const createdHere = new Set(desired.filter((d) => d.obj.kind === 'Namespace' && d.obj.apiVersion === 'v1').map((d) => d.obj.metadata.name));
    if (app.createNamespace && mode === 'plan') createdHere.add(app.namespace);
    if (
      app.createNamespace &&
      mode === 'deploy' &&
      !createdHere.has(app.namespace) &&
      !(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: app.namespace }))
    ) {
      createdHere.add(app.namespace);
      desired.push(namespaceObject(app));
    }

    await steps.enter?.('dry-run');
    const manager = createResourceManager({
      client,
      concurrency: deps.applyConcurrency ?? 8,
      foreignManagers: app.takeOverFieldsFrom,
      recreate: app.recreate,
      ignoreFields: app.ignoreFields,
    });
    const verified = (await deps.verified?.load(app.name).catch(() => undefined)) ?? new Map<string, VerifiedObject>();
    const dry = await manager.dryRunAll(desired, createdHere, verified);
    if (dry.deferred.size > 0) steps.note?.('info', `${dry.deferred.size} object(s) wait for a CRD or namespace from this commit before their dry-run`);
    const previous = await inventory.read();
    const finished = skipFinishedJobs(desired, previous.entries, dry);
    if (finished > 0) steps.note?.('info', `${finished} finished Job(s) removed by their TTL are not run again`);
    return { client, manager, inventory, previous, desired, hooks, createdHere, dry, dispose: () => checkout.dispose() };
  } catch (err) {
    await checkout.dispose().catch(() => undefined);
    throw err;
  }
}

function namespaceObject(app: AppConfig): Desired {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: app.namespace, labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER } } };
  return {
    obj,
    source: 'createNamespace',
    id: objectId({ apiVersion: 'v1', kind: 'Namespace', name: app.namespace }),
    namespaced: false,
    newKind: false,
    synthetic: true,
  };
}

/** Files Landfall does not render, by what people would expect of them. */
const NOT_RENDERED: Record<string, string> = {
  '.jsonnet': 'Jsonnet, which Landfall does not render (commit its output as YAML)',
  '.libsonnet': 'Jsonnet libraries',
  '.cue': 'CUE, which Landfall does not render (commit its output as YAML)',
  '.tf': 'Terraform',
  '.tpl': 'templates outside a Helm chart',
  '.tmpl': 'templates',
  '.j2': 'Jinja templates',
  '.dhall': 'Dhall, which Landfall does not render',
};

/** `it found 3 .jsonnet files (Jsonnet, ...)`, or `the path has no files`. */
async function whatIsThere(dir: string): Promise<string> {
  const counts = new Map<string, number>();
  let total = 0;
  const walk = async (at: string, depth: number): Promise<void> => {
    if (depth > 6 || total > 2_000) return;
    const entries = await readdir(at, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) await walk(join(at, e.name), depth + 1);
      else {
        total++;
        const ext = extname(e.name).toLowerCase() || e.name;
        counts.set(ext, (counts.get(ext) ?? 0) + 1);
      }
    }
  };
  await walk(dir, 0);
  if (total === 0) return 'the path has no files';
  const parts = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([ext, n]) => `${n} ${ext} file${n === 1 ? '' : 's'}${NOT_RENDERED[ext] ? ` (${NOT_RENDERED[ext]})` : ''}`);
  return `it found ${parts.join(', ')}`;
}
