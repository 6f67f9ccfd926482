import { createHash } from 'node:crypto';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { describeRef, refOf, type KubeObject } from '../kube/refs.js';
import { changedPaths } from './diff.js';
import { SyncError, toSyncError } from './errors.js';
import { ignoredFields, withLiveValues, withoutFields, type IgnoredFields, type IgnoreRule } from './ignore.js';
import { FIELD_MANAGER, RECREATE_ANNOTATION } from './labels.js';
import { applyOrder, stageOf } from './order.js';
import { mapLimit, settleLimit } from './pool.js';
import type { ChangeEntry } from '../model/changes.js';
import type { VerifiedObject } from '../model/records.js';
import { takeoverPatch, type ForeignManager } from './takeover.js';
import type { DesiredObject } from './validate.js';
import { errorMessage, isRecord } from '../unknown.js';

/** The outcome of dry-running every object. */
export interface DryRunResult {
  /** Server's answer per object id. */
  results: Map<string, KubeObject>;
  /** Objects that could not be dry-run yet: their kind or namespace arrives with this commit. */
  deferred: Set<string>;
  /** Objects to delete and create again, with the fields that cannot change. */
  recreate: Map<string, string[]>;
  /** Objects left alone this time, with the reason (a finished Job its TTL removed). */
  skip: Map<string, string>;
  /** Fields left alone per object that exists already; applied with their live values. */
  ignored: Map<string, IgnoredFields>;
  /** The live objects as read before the dry-run (one LIST per kind and namespace). */
  live: Map<string, KubeObject>;
  /** The fingerprint of each object as it is applied (after ignored fields took their live values). */
  fingerprints: Map<string, string>;
  /** Objects the last sync verified that neither Git nor anyone since has changed: not dry-run, unchanged. */
  proven: Set<string>;
}

/** The resource manager's type. */
export type ResourceManager = ReturnType<typeof createResourceManager>;

/** Bumped when what Landfall sends for the same manifest changes, so older verifications lapse. */
const FINGERPRINT_VERSION = '1';

/** A fingerprint of an object as applied; key order does not matter. */
export function fingerprintOf(obj: KubeObject): string {
  return createHash('sha256').update(FINGERPRINT_VERSION).update(canonicalJson(obj)).digest('base64url').slice(0, 22);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Dependencies of the resource manager. */
export interface ResourceManagerDeps {
  client: KubeClient;
  /** Requests in flight at once within a stage. */
  concurrency?: number;
  /** Managers whose fields Landfall takes over on objects it applies (the app's `takeOverFieldsFrom`); none when absent. */
  foreignManagers?: readonly ForeignManager[];
  /** Recreate every object whose change touches a field that cannot change (the app's `recreate`); else per annotation. */
  recreate?: boolean;
  /** Fields left alone (the app's `ignoreFields`); HPA-scaled replicas are always left alone. */
  ignoreFields?: readonly IgnoreRule[];
}

/** The fields a 422 says cannot change (`spec.selector`), or none when it is another error. */
export function immutableFields(err: unknown): string[] {
  if (!(err instanceof KubeApiError) || err.status !== 422) return [];
  const causes = err.body?.details?.causes ?? [];
  return [...new Set(causes.filter((c) => /field is immutable/.test(c.message ?? '')).map((c) => c.field ?? '?'))];
}

/** Turns an API error about an object into words that name it. */
export function objectError(code: string, obj: KubeObject, verb: string, err: unknown): SyncError {
  const what = describeRef(refOf(obj));
  if (err instanceof KubeApiError) {
    const causes = err.body?.details?.causes?.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).filter(Boolean) ?? [];
    const detail = err.body?.message ?? err.message;
    const hint = /failed to create typed live object/.test(detail)
      ? ' (the object on the cluster is malformed, e.g. written by an older client with duplicate list keys; fix or replace it there)'
      : /failed to create typed patch object/.test(detail)
        ? ' (fix the manifest: a field the API does not know, or two list items with the same key)'
        : '';
    return new SyncError(code, `${what} ${verb} failed: ${detail}${causes.length > 1 ? ` (${causes.join('; ')})` : ''}${hint}`, err.transient, {
      cause: err,
      object: what,
    });
  }
  if (err instanceof SyncError) return err;
  return new SyncError(code, `${what} ${verb} failed: ${errorMessage(err)}`, true, { cause: err, object: what });
}

/** A dry-run that failed only because the namespace it targets does not exist yet. */
function missingNamespace(err: unknown): string | undefined {
  if (!(err instanceof KubeApiError) || err.status !== 404) return undefined;
  const details = err.body?.details;
  return details?.kind === 'namespaces' ? details.name : /namespaces "([^"]+)" not found/.exec(err.body?.message ?? '')?.[1];
}

/**
 * Server-side apply in the manner of Flux's ResourceManager: dry-run everything first, then apply
 * in stages, writing only objects whose dry-run differs from what is live.
 */
export function createResourceManager(deps: ResourceManagerDeps) {
  const { client } = deps;
  const concurrency = deps.concurrency ?? 8;
  const foreign = deps.foreignManagers ?? [];

  async function dryRun(obj: KubeObject): Promise<KubeObject> {
    return client.apply(obj, { fieldManager: FIELD_MANAGER, force: true, dryRun: true });
  }

  return {
    /**
     * Dry-runs every object; any failure fails the whole set with nothing written. Objects whose
     * kind comes from a CRD in this commit, or whose namespace is created by it, are deferred.
     * Live objects are read first, one LIST per kind and namespace; an object `verified` by the
     * last sync whose fingerprint and resourceVersion both still match is proven unchanged and
     * not dry-run.
     */
    async dryRunAll(
      objects: DesiredObject[],
      namespacesCreatedHere: ReadonlySet<string>,
      verified: ReadonlyMap<string, VerifiedObject> = new Map(),
    ): Promise<DryRunResult> {
      const results = new Map<string, KubeObject>();
      const deferred = new Set<string>();
      const failures: SyncError[] = [];
      const recreate = new Map<string, string[]>();
      const wanted = await ignoredFields(client, objects, deps.ignoreFields ?? []);
      const ignored = new Map<string, IgnoredFields>();
      const live = await liveObjects(objects);
      const fingerprints = new Map<string, string>();
      const proven = new Set<string>();
      const outcomes = await settleLimit(objects, concurrency, async (desired) => {
        if (desired.newKind) {
          deferred.add(desired.id);
          return;
        }
        try {
          const fields = wanted.get(desired.id);
          if (fields) {
            // Only once the object exists: a new one is created as Git says.
            const current = live.get(desired.id) ?? (await client.get(refOf(desired.obj)));
            if (current) {
              desired.obj = withLiveValues(desired.obj, current, fields.pointers);
              ignored.set(desired.id, fields);
            }
          }
          const fingerprint = fingerprintOf(desired.obj);
          fingerprints.set(desired.id, fingerprint);
          const current = live.get(desired.id);
          const known = verified.get(desired.id);
          if (current && known && known.fingerprint === fingerprint && known.resourceVersion === current.metadata.resourceVersion) {
            results.set(desired.id, current);
            proven.add(desired.id);
            return;
          }
          results.set(desired.id, await dryRun(desired.obj));
        } catch (err) {
          const ns = missingNamespace(err);
          if (ns && namespacesCreatedHere.has(ns)) {
            deferred.add(desired.id);
            return;
          }
          const fields = immutableFields(err);
          if (fields.length > 0) {
            if (deps.recreate || desired.obj.metadata.annotations?.[RECREATE_ANNOTATION] === 'true') {
              recreate.set(desired.id, fields);
              return;
            }
            const what = describeRef(refOf(desired.obj));
            throw new SyncError(
              'IMMUTABLE_FIELD',
              `${what} dry-run failed: ${fields.join(', ')} cannot change on an existing ${desired.obj.kind}. To replace it, annotate it ${RECREATE_ANNOTATION}: "true" (or set recreate: true on the app): Landfall then deletes it and creates it again. Or delete it by hand.`,
              false,
              { cause: err, object: what },
            );
          }
          throw objectError('DRY_RUN_FAILED', desired.obj, 'dry-run', err);
        }
      });
      for (const outcome of outcomes) if (!outcome.ok) failures.push(toSyncError(outcome.error));
      if (failures.length > 0) throw aggregate(failures);
      return { results, deferred, recreate, skip: new Map(), ignored, live, fingerprints, proven };
    },

    /**
     * What applying would do, without writing: created, configured (with the changed field paths)
     * or unchanged per object. Objects that could not be dry-run yet count as created.
     */
    async diff(objects: DesiredObject[], dry: DryRunResult): Promise<ChangeEntry[]> {
      return mapLimit(objects, concurrency, async (desired) => {
        const skipped = dry.skip.get(desired.id);
        if (skipped) return { ...entryFor(desired), action: 'skipped' as const, message: skipped };
        const fields = dry.recreate.get(desired.id);
        if (fields)
          return {
            ...entryFor(desired),
            action: 'recreated' as const,
            paths: fields,
            message: `will be deleted and created again: ${fields.join(', ')} cannot change`,
          };
        const planned = dry.results.get(desired.id);
        if (!planned) return { ...entryFor(desired), action: 'created' as const, message: 'dry-run waits for a CRD or namespace in this change' };
        const { entry, live: current } = await decide(desired, planned, dry.live.get(desired.id), dry.ignored.get(desired.id), dry.proven.has(desired.id));
        const takeover = current ? takeoverPatch(current, foreign) : undefined;
        return takeover ? { ...entry, message: takeoverNote(takeover.managers) } : entry;
      });
    },

    /**
     * Applies in stages (CRDs, Namespaces and cluster policy; then `*Class` kinds; then the rest),
     * waiting after the first stage until new CRDs are Established. Returns the change set.
     */
    async applyStaged(
      objects: DesiredObject[],
      dry: DryRunResult,
      options: {
        waitEstablished: (crds: KubeObject[]) => Promise<void>;
        /** Runs before the first write of a stage (e.g. to record the inventory once its namespace exists). */
        beforeStage?: (stage: number) => Promise<void>;
        /** How long a kind from a CRD of this commit may take to be served after Established (default 30 s). */
        servedTimeoutMs?: number;
        onEntry?: (entry: ChangeEntry) => void;
      },
    ): Promise<ChangeEntry[]> {
      const entries: ChangeEntry[] = [];
      const stages = [0, 1, 2].map((stage) => objects.filter((o) => stageOf(o.obj) === stage).sort((a, b) => applyOrder(a.obj, b.obj)));
      for (const [stage, batch] of stages.entries()) {
        await options.beforeStage?.(stage);
        if (batch.length === 0) continue;
        const outcomes = await settleLimit(batch, concurrency, async (desired) => {
          const skipped = dry.skip.get(desired.id);
          if (skipped) {
            const entry: ChangeEntry = { ...entryFor(desired), action: 'skipped', message: skipped };
            entries.push(entry);
            options.onEntry?.(entry);
            return entry;
          }
          const fields = dry.recreate.get(desired.id);
          if (fields) {
            const entry: ChangeEntry = {
              ...entryFor(desired),
              action: 'recreated',
              paths: fields,
              message: `deleted and created again: ${fields.join(', ')} cannot change`,
            };
            await recreateObject(desired);
            entries.push(entry);
            options.onEntry?.(entry);
            return entry;
          }
          let planned = dry.results.get(desired.id);
          if (!planned) {
            try {
              planned = await dryRun(desired.obj);
            } catch (err) {
              throw objectError('DRY_RUN_FAILED', desired.obj, 'dry-run', err);
            }
          }
          const decided = await decide(desired, planned, dry.live.get(desired.id), dry.ignored.get(desired.id), dry.proven.has(desired.id));
          const current = decided.live;
          let entry = decided.entry;
          const takeover = current ? takeoverPatch(current, foreign) : undefined;
          if (takeover && current) {
            // Fields an earlier tool co-owns would outlive their removal from Git: make them
            // Landfall's first, then compare again, since the apply may now remove some.
            try {
              await client.patch(refOf(desired.obj), takeover.patch, { type: 'json', fieldManager: FIELD_MANAGER });
              planned = await dryRun(desired.obj);
            } catch (err) {
              throw objectError('APPLY_FAILED', desired.obj, 'take-over of fields', err);
            }
            ({ entry } = await decide(desired, planned, undefined, dry.ignored.get(desired.id)));
            entry = {
              ...entry,
              ...(entry.action === 'unchanged' ? { action: 'configured' as const, paths: ['metadata.managedFields'] } : {}),
              message: takeoverNote(takeover.managers, true),
            };
          }
          if (entry.action !== 'unchanged') {
            try {
              await client.apply(desired.obj, { fieldManager: FIELD_MANAGER, force: true });
            } catch (err) {
              throw objectError('APPLY_FAILED', desired.obj, 'apply', err);
            }
          }
          entries.push(entry);
          options.onEntry?.(entry);
          return entry;
        });
        const failures = outcomes.filter((o): o is { ok: false; error: unknown } => !o.ok).map((o) => toSyncError(o.error));
        if (failures.length > 0) throw aggregate(failures);
        if (stage === 0) {
          const crds = batch.filter((o) => o.obj.kind === 'CustomResourceDefinition').map((o) => o.obj);
          if (crds.length > 0) {
            await options.waitEstablished(crds);
            client.invalidate();
            await waitServed(
              objects.filter((o) => o.newKind),
              options.servedTimeoutMs ?? 30_000,
            );
          }
        }
      }
      return entries;
    },
  };

  /** Deletes an object, waits (bounded) until it is gone, and applies it anew. */
  async function recreateObject(desired: DesiredObject): Promise<void> {
    const ref = refOf(desired.obj);
    try {
      await client.delete(ref, { propagationPolicy: 'Background' });
      const deadline = Date.now() + 120_000;
      let delay = 100;
      while (await client.get(ref)) {
        if (Date.now() >= deadline)
          throw new SyncError(
            'RECREATE_TIMEOUT',
            `${describeRef(ref)} was deleted to be created again, but is still there after 120 s (a finalizer holds it?)`,
            true,
            { object: describeRef(ref) },
          );
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 2_000);
      }
      await client.apply(desired.obj, { fieldManager: FIELD_MANAGER, force: true });
    } catch (err) {
      throw objectError('APPLY_FAILED', desired.obj, 'recreate', err);
    }
  }

  /**
   * Waits until the API server serves every kind a CRD of this commit defines. It publishes them
   * in discovery a moment after the CRD is Established; asking too early answers 404 and would
   * fail the custom resources' dry-run. Bounded, with backoff.
   */
  async function waitServed(objects: DesiredObject[], timeoutMs: number): Promise<void> {
    const kinds = new Map(objects.map((o) => [`${o.obj.apiVersion}|${o.obj.kind}`, o.obj]));
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    for (const obj of kinds.values()) {
      for (;;) {
        client.invalidate(obj.apiVersion);
        if (await client.resource(obj.apiVersion, obj.kind)) break;
        if (Date.now() >= deadline) {
          throw new SyncError(
            'CRD_NOT_SERVED',
            `${obj.kind} in ${obj.apiVersion} is still not served ${Math.round(timeoutMs / 1000)} s after its CustomResourceDefinition became Established; the API server may be overloaded (this is retried)`,
            true,
            { object: describeRef(refOf(obj)) },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
        delay = Math.min(delay * 2, 1_000);
      }
    }
  }

  /**
   * Live versions of a batch: one LIST per kind and namespace, narrowed to the app's label, rather
   * than a GET each (a lone object is cheaper to GET). Objects not labelled as the app's yet (about
   * to be adopted) are not in it; callers GET those when they need them.
   */
  async function liveObjects(batch: DesiredObject[]): Promise<Map<string, KubeObject>> {
    const live = new Map<string, KubeObject>();
    const groups = new Map<string, DesiredObject[]>();
    for (const desired of batch) {
      if (desired.newKind) continue;
      const key = `${desired.obj.apiVersion}|${desired.obj.kind}|${desired.obj.metadata.namespace ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), desired]);
    }
    await settleLimit([...groups.values()], concurrency, async (members) => {
      const first = members[0]!;
      if (members.length === 1) {
        const found = await client.get(refOf(first.obj)).catch(() => undefined);
        if (found) live.set(first.id, found);
        return;
      }
      const app = first.obj.metadata.labels?.['landfall.dev/app'];
      const items = await client
        .list(first.obj.apiVersion, first.obj.kind, {
          ...(first.obj.metadata.namespace ? { namespace: first.obj.metadata.namespace } : {}),
          ...(app ? { labelSelector: `landfall.dev/app=${app}` } : {}),
        })
        // A namespace this commit brings does not exist yet; its objects are not live either.
        .catch(() => []);
      const byName = new Map(items.map((i) => [i.metadata.name, i]));
      for (const m of members) {
        const found = byName.get(m.obj.metadata.name);
        if (found) live.set(m.id, found);
      }
    });
    return live;
  }

  /**
   * What applying `planned` would do to the live object (fetched unless `known`), and that object.
   * Fields left alone (`ignored`) are never a difference; a `proven` object is unchanged.
   */
  async function decide(
    desired: DesiredObject,
    planned: KubeObject,
    known: KubeObject | undefined,
    ignored?: IgnoredFields,
    proven = false,
  ): Promise<{ entry: ChangeEntry; live?: KubeObject }> {
    const base = { ...entryFor(desired), ...(ignored ? { message: ignored.note } : {}) };
    if (proven && known) return { entry: { ...base, action: 'unchanged' }, live: known };
    // A dry-run create comes back without a resourceVersion (Flux relies on the same signal).
    if (!planned.metadata.resourceVersion) return { entry: { ...base, action: 'created' } };
    const live = known ?? (await client.get(refOf(desired.obj)));
    if (!live) return { entry: { ...base, action: 'created' } };
    const paths = ignored ? changedPaths(withoutFields(planned, ignored.pointers), withoutFields(live, ignored.pointers)) : changedPaths(planned, live);
    return { entry: paths.length === 0 ? { ...base, action: 'unchanged' } : { ...base, action: 'configured', paths }, live };
  }
}

/** Words for a take-over of fields, in a plan (`done` false) or a change set. */
function takeoverNote(managers: string[], done = false): string {
  if (managers.length === 0) return done ? "dropped kubectl's last-applied annotation" : "will drop kubectl's last-applied annotation";
  return done
    ? `took over the fields of ${managers.join(', ')}, so fields Git no longer has are removed`
    : `will take over the fields of ${managers.join(', ')}, so fields Git no longer has are removed`;
}

/** A change-set entry for an object, before its action is known. */
export function entryFor(desired: DesiredObject): Omit<ChangeEntry, 'action'> {
  const { obj } = desired;
  return {
    id: desired.id,
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    source: desired.source,
  };
}

/** One error for many: the first in words, the rest counted; transient only if all are. */
function aggregate(failures: SyncError[]): SyncError {
  const [first] = failures;
  if (!first) throw new RangeError('aggregate() needs at least one failure');
  if (failures.length === 1) return first;
  const more = failures.slice(1, 5).map((f) => f.message);
  return new SyncError(
    first.code,
    `${first.message}\n${more.join('\n')}${failures.length > 5 ? `\n(and ${failures.length - 5} more)` : ''}`,
    failures.every((f) => f.transient),
    {
      cause: first,
      ...(first.object ? { object: first.object } : {}),
    },
  );
}
