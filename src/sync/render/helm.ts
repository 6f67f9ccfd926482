import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import type { AppConfig } from '../../config/schema.js';
import { SyncError } from '../errors.js';
import { run } from '../exec.js';
import { isInside } from './guard.js';
import { parseManifests } from './parse.js';
import type { RenderedObject, RenderLimits, RenderTools } from './types.js';

/**
 * Runs `helm template` for a chart directory: the app's values files (paths inside the
 * repository) and values, CRDs included, no cluster access. Dependencies must be vendored in
 * `charts/`: Landfall never runs `helm dependency build`, so nothing is downloaded.
 */
export async function renderHelm(
  root: string,
  dir: string,
  app: AppConfig,
  limits: RenderLimits,
  tools: RenderTools,
  env: NodeJS.ProcessEnv,
): Promise<RenderedObject[]> {
  const chartLabel = relative(root, dir) || '.';
  // Cast: Chart.yaml, whose fields are read optionally and checked with typeof.
  const chart = (parse(await readFile(join(dir, 'Chart.yaml'), 'utf8'), { maxAliasCount: 100 }) ?? {}) as {
    name?: string;
    dependencies?: { name?: string; repository?: string }[];
  };
  for (const dep of chart.dependencies ?? []) {
    if (dep.repository && !dep.repository.startsWith('file://')) {
      const vendored = await stat(join(dir, 'charts', `${dep.name}`)).then(
        () => true,
        () => false,
      );
      const packaged = vendored || (await hasPackagedChart(join(dir, 'charts'), `${dep.name}`));
      if (!packaged) {
        throw new SyncError(
          'HELM_REMOTE_DEPENDENCY',
          `${chartLabel}/Chart.yaml: dependency "${dep.name}" comes from ${dep.repository}; vendor it (helm dependency build, commit charts/) since Landfall downloads nothing`,
          false,
          { file: `${chartLabel}/Chart.yaml` },
        );
      }
    }
  }
  const args = ['template', app.helm?.releaseName ?? app.name, dir, '--namespace', app.namespace, '--include-crds'];
  for (const file of app.helm?.valuesFiles ?? []) {
    const full = resolve(root, file);
    if (!isInside(root, full)) throw new SyncError('PATH_ESCAPES', `helm.valuesFiles: "${file}" leaves the repository`);
    args.push('--values', full);
  }
  const scratch = await mkdtemp(join(tmpdir(), 'landfall-helm-'));
  try {
    if (app.helm && Object.keys(app.helm.values).length > 0) {
      const valuesFile = join(scratch, 'values.json');
      await writeFile(valuesFile, JSON.stringify(app.helm.values));
      args.push('--values', valuesFile);
    }
    const helmEnv = {
      ...env,
      HELM_CACHE_HOME: join(scratch, 'cache'),
      HELM_CONFIG_HOME: join(scratch, 'config'),
      HELM_DATA_HOME: join(scratch, 'data'),
      // Never the user's or the pod's cluster: helm template must not look anything up.
      KUBECONFIG: join(scratch, 'no-kubeconfig'),
    };
    const { stdout } = await run(tools.helm, args, { cwd: dir, env: helmEnv, timeoutMs: limits.timeoutMs, maxBuffer: limits.maxBytes + 1 }).catch(
      (err: unknown) => {
        if (err instanceof SyncError && err.code === 'COMMAND_FAILED') {
          const message = inRepository(err.message.replace(/^\S+ \S+ failed/, 'helm template failed'), chart.name, chartLabel);
          throw new SyncError('HELM_FAILED', message, false, { file: /(\S+\/templates\/[^\s:]+)/.exec(message)?.[1] ?? chartLabel });
        }
        throw err;
      },
    );
    return splitHelmOutput(stdout, chartLabel, limits.maxObjects, chart.name);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Helm prefixes each document with `# Source: <chart>/templates/<file>`; use it to name objects. */
function splitHelmOutput(text: string, chartLabel: string, limit: number, chartName: string | undefined): RenderedObject[] {
  const objects: RenderedObject[] = [];
  const parts = text.split(/^---\s*$/m);
  for (const part of parts) {
    const named = /^# Source: (.+)$/m.exec(part)?.[1]?.trim();
    const source = named ? inRepository(named, chartName, chartLabel) : `${chartLabel} (helm)`;
    const before = objects.length;
    parseManifests(part, source, objects, limit);
    // parseManifests numbers documents within the part; one part is one document.
    for (let i = before; i < objects.length; i++) objects[i] = { ...objects[i]!, source: objects[i]!.source.replace(/#\d+$/, '') };
  }
  return objects;
}

async function hasPackagedChart(chartsDir: string, name: string): Promise<boolean> {
  const entries = await readdir(chartsDir).catch((): string[] => []);
  return entries.some((e) => e.startsWith(`${name}-`) && e.endsWith('.tgz'));
}

/**
 * Helm names a template `<chart name>/templates/<file>`; a person looks for it at the chart's path
 * in the repository (`blue-green/templates/rollout.yaml` for the chart `helm-guestbook` kept in
 * `blue-green/`). Rewrites those paths in a source or message.
 */
export function inRepository(text: string, chartName: string | undefined, chartLabel: string): string {
  if (!chartName) return text;
  const escaped = chartName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(
    new RegExp(`(^|[\\s"'(])${escaped}/(templates|charts)/`, 'g'),
    (_m, lead: string, rest: string) => `${lead}${chartLabel === '.' ? '' : `${chartLabel}/`}${rest}/`,
  );
}
