import type { KubeObject } from '../../kube/refs.js';

/** An object as rendered, with where it came from for error messages: `deploy/web.yaml#2`. */
export interface RenderedObject {
  obj: KubeObject;
  source: string;
}

/** Limits that keep a hostile or broken repository from exhausting the worker. */
export interface RenderLimits {
  maxObjects: number;
  maxBytes: number;
  timeoutMs: number;
}

/** How an app's path was rendered. */
export type RenderMode = 'plain' | 'kustomize' | 'helm';

/** The outcome of rendering. */
export interface RenderResult {
  mode: RenderMode;
  objects: RenderedObject[];
}

/** External programs rendering needs. */
export interface RenderTools {
  /** kubectl (for `kubectl kustomize`) or a standalone kustomize. */
  kustomize: { command: string; args: string[] };
  helm: string;
}
