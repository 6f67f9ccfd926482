import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RenderTools } from './render/types.js';

/** Where the setup script puts kubectl and helm: `<package root>/tools`. */
const PACKAGE_TOOLS = fileURLToPath(new URL('../../tools/', import.meta.url));

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Explicit settings for {@link findTools}. */
export interface ToolSettings {
  kubectl?: string | undefined;
  kustomize?: string | undefined;
  helm?: string | undefined;
}

/**
 * Chooses the binaries rendering runs: explicit settings first, then LANDFALL_KUBECTL /
 * LANDFALL_KUSTOMIZE / LANDFALL_HELM, then `./tools` (scripts/setup-tools.sh), then PATH.
 * A standalone kustomize is used when configured; otherwise `kubectl kustomize`.
 */
export function findTools(settings: ToolSettings = {}, env: NodeJS.ProcessEnv = process.env): RenderTools {
  const kustomize = settings.kustomize ?? env.LANDFALL_KUSTOMIZE;
  const kubectl = settings.kubectl ?? env.LANDFALL_KUBECTL ?? (executable(`${PACKAGE_TOOLS}kubectl/kubectl`) ? `${PACKAGE_TOOLS}kubectl/kubectl` : 'kubectl');
  const helm = settings.helm ?? env.LANDFALL_HELM ?? (executable(`${PACKAGE_TOOLS}helm/helm`) ? `${PACKAGE_TOOLS}helm/helm` : 'helm');
  return {
    kustomize: kustomize ? { command: kustomize, args: ['build'] } : { command: kubectl, args: ['kustomize'] },
    helm,
  };
}
