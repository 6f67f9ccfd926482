import { readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { SyncError } from '../errors.js';
import { run } from '../exec.js';
import { isInside } from './guard.js';
import { parseManifests } from './parse.js';
import type { RenderedObject, RenderLimits, RenderTools } from './types.js';
import { errorMessage } from '../../unknown.js';

/** File names kustomize recognises, in its order of preference. */
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** Fields of a kustomization that name other files or directories. */
const REFERENCE_FIELDS = ['resources', 'bases', 'components', 'crds', 'patchesStrategicMerge', 'transformers', 'generators', 'validators', 'configurations'];

/** Finds the kustomization file in a directory. */
export async function findKustomization(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const file = join(dir, name);
    if (
      await stat(file).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return file;
  }
  return undefined;
}

/**
 * Refuses what kustomize would otherwise do behind the repository's back: remote bases
 * (URLs, `github.com/...`, `git@...`), `helmCharts` (which download), and local references that
 * climb out of the repository. Walks every kustomization the app's one reaches.
 */
export async function vetKustomization(root: string, dir: string, seen = new Set<string>()): Promise<void> {
  if (seen.has(dir)) return;
  seen.add(dir);
  const file = await findKustomization(dir);
  if (!file) return;
  const label = relative(root, file);
  let doc: Record<string, unknown>;
  try {
    // Cast: a kustomization file; every field read below is checked with Array.isArray/typeof first.
    doc = (parse(await readFile(file, 'utf8'), { maxAliasCount: 100 }) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new SyncError('YAML_INVALID', `${label}: ${errorMessage(err).split('\n')[0]}`, false, { file: label });
  }
  if (doc.helmCharts || doc.helmChartInflationGenerator) {
    throw new SyncError(
      'KUSTOMIZE_REMOTE',
      `${label}: helmCharts download charts and are not allowed; vendor the chart or point the app at the chart directory`,
      false,
      { file: label },
    );
  }
  for (const field of REFERENCE_FIELDS) {
    const entries = doc[field];
    if (!Array.isArray(entries)) continue;
    for (const [i, entry] of entries.entries()) {
      if (typeof entry !== 'string') continue;
      if (isRemote(entry)) {
        throw new SyncError(
          'KUSTOMIZE_REMOTE',
          `${label}: ${field}[${i}] "${entry}" is a remote base; Landfall renders only what is in the repository`,
          false,
          { file: label },
        );
      }
      const target = resolve(dir, entry);
      if (!isInside(root, target)) {
        throw new SyncError('PATH_ESCAPES', `${label}: ${field}[${i}] "${entry}" leaves the repository`, false, { file: label });
      }
      if (
        await stat(target).then(
          (s) => s.isDirectory(),
          () => false,
        )
      )
        await vetKustomization(root, target, seen);
    }
  }
}

function isRemote(entry: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || /^git@/.test(entry) || /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(entry) || /\?ref=/.test(entry);
}

/** Runs `kubectl kustomize` (or `kustomize build`) with no network and no plugins. */
export async function renderKustomize(root: string, dir: string, limits: RenderLimits, tools: RenderTools, env: NodeJS.ProcessEnv): Promise<RenderedObject[]> {
  await vetKustomization(root, dir);
  const { stdout } = await run(tools.kustomize.command, [...tools.kustomize.args, dir], {
    cwd: dir,
    env,
    timeoutMs: limits.timeoutMs,
    maxBuffer: limits.maxBytes + 1,
  }).catch((err: unknown) => {
    if (err instanceof SyncError && err.code === 'COMMAND_FAILED')
      throw new SyncError('KUSTOMIZE_FAILED', err.message.replace(/^\S+ \S+ failed/, 'kustomize failed'), false, { file: relative(root, dir) || '.' });
    throw err;
  });
  const objects: RenderedObject[] = [];
  parseManifests(stdout, `${relative(root, dir) || '.'} (kustomize)`, objects, limits.maxObjects);
  return objects;
}
