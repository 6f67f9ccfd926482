// Pull-request previews on the Kubernetes API test server: the scenarios of
// test/support/preview-scenarios.ts (test/real/kube/previews.test.ts runs them on the real control plane).
import t from 'tap';
import { previewScenarios } from '../support/preview-scenarios.js';

t.test('previews', async (t) => previewScenarios(t));
