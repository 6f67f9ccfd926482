/**
 * Kubernetes API test server: an in-repo stand-in for kube-apiserver that
 * `@kubernetes/client-node` talks to over HTTP through an ordinary KubeConfig. See README.md.
 *
 *   const server = await startKubeApiServer();
 *   const kc = server.kubeConfig();
 */
/** The server, its options and the shapes of its hooks. */
export {
  startKubeApiServer,
  refOf,
  type KubeApiServer,
  type KubeApiServerOptions,
  type RecordedRequest,
  type FaultSpec,
  type DenyRule,
  type ObjectRef,
  type ListFilter,
  type ServerStats,
  type TimingStats,
} from './server.js';
/** What `setRollout` takes. */
export type { RolloutBehaviour, RolloutMatch } from './controllers.js';
/** The Status shapes every error answers with. */
export type { Status, StatusCause, StatusDetails } from './errors.js';
/** Plain JSON object shapes the hooks take and return. */
export type { KubeObject, ObjectMeta, JsonObject } from './types.js';
