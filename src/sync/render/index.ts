import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppConfig } from '../../config/schema.js';
import { assertNoEscapingSymlinks, resolveAppPath } from './guard.js';
import { withDecryptedFiles, type RenderDecryption } from './decrypt.js';
import { renderHelm } from './helm.js';
import { findKustomization, renderKustomize } from './kustomize.js';
import { renderPlain } from './plain.js';
import type { RenderLimits, RenderResult, RenderTools } from './types.js';

export type { RenderDecryption } from './decrypt.js';
export type { RenderedObject, RenderLimits, RenderMode, RenderResult, RenderTools } from './types.js';

/**
 * An environment for renderers that cannot reach the network: proxies that lead nowhere, git
 * that will not fetch, no credentials inherited from the worker.
 */
function offlineEnv(): NodeJS.ProcessEnv {
  const nowhere = 'http://127.0.0.1:9';
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HTTP_PROXY: nowhere,
    HTTPS_PROXY: nowhere,
    http_proxy: nowhere,
    https_proxy: nowhere,
    NO_PROXY: '',
    no_proxy: '',
    GIT_ALLOW_PROTOCOL: 'none',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
  };
}

/**
 * Renders an app's `path` in a checkout: a kustomization means Kustomize, a `Chart.yaml` means
 * `helm template`, anything else is read as plain YAML/JSON. Before anything runs, the checkout
 * is vetted: no symlink may point out of it, and the path must stay inside it. SOPS-encrypted
 * files the renderer reads are decrypted first, in a private copy removed afterwards.
 */
export async function renderApp(
  checkoutDir: string,
  app: AppConfig,
  limits: RenderLimits,
  tools: RenderTools,
  decryption?: RenderDecryption,
): Promise<RenderResult> {
  await assertNoEscapingSymlinks(checkoutDir);
  const dir = await resolveAppPath(checkoutDir, app.path);
  const root = await resolveAppPath(checkoutDir, '.');
  if (await findKustomization(dir)) {
    const objects = await withDecryptedFiles(root, dir, 'kustomize', app, limits, decryption, (r, d) => renderKustomize(r, d, limits, tools, offlineEnv()));
    return { mode: 'kustomize', objects };
  }
  if (
    await stat(join(dir, 'Chart.yaml')).then(
      (s) => s.isFile(),
      () => false,
    )
  ) {
    const objects = await withDecryptedFiles(root, dir, 'helm', app, limits, decryption, (r, d) => renderHelm(r, d, app, limits, tools, offlineEnv()));
    return { mode: 'helm', objects };
  }
  return { mode: 'plain', objects: await withDecryptedFiles(root, dir, 'plain', app, limits, decryption, (r, d) => renderPlain(r, d, limits)) };
}
