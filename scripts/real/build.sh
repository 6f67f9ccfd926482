#!/usr/bin/env bash
# Builds the real components the tests run against (a Kubernetes control plane, kwok, Gitea,
# sops) from the pinned wrapper modules in real/<component>/, with the Go module proxy alone.
# Binaries are cached outside the work tree, keyed by the wrapper's go.mod, go.sum and main.go,
# so a build runs again only when a pin moves.
#
#   scripts/real/build.sh [kube|etcd|kwok|gitea|sops|all]...   (default: all)
#
# Prints one line per component: "<name> <version>: built in N s" or "<name> <version>: cached",
# and the binaries' folder. LANDFALL_REAL_CACHE moves the cache (default ~/.cache/landfall/real).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE="${LANDFALL_REAL_CACHE:-$HOME/.cache/landfall/real}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
# Two cores: one package at a time keeps peak memory of the kube-apiserver link bounded.
JOBS="${LANDFALL_REAL_GO_JOBS:-2}"

if ! command -v go >/dev/null 2>&1; then
  echo "real components: go is not installed; they cannot be built here" >&2
  exit 3
fi

# Bump a component's recipe when its build commands below change, so its cache is rebuilt.
recipe_of() {
  case $1 in
    kube) echo 1 ;; etcd) echo 1 ;; kwok) echo 1 ;; gitea) echo 1 ;; sops) echo 1 ;;
  esac
}

# The folder a component's binaries live in, for the wrapper as it is now.
dir_for() {
  local name=$1 key
  key=$( (cat "real/$name/go.mod" "real/$name/go.sum" "real/$name"/*.go 2>/dev/null; recipe_of "$name") | sha256sum | cut -c1-12)
  echo "$CACHE/$name-$(version_of "$name")-$key"
}

# The version a wrapper pins, read from its go.mod.
version_of() {
  local name=$1 mod
  case $name in
    kube) mod=k8s.io/kubernetes ;;
    etcd) mod=go.etcd.io/etcd/server/v3 ;;
    kwok) mod=sigs.k8s.io/kwok ;;
    gitea) mod=code.gitea.io/gitea ;;
    sops) mod=github.com/getsops/sops/v3 ;;
    *) echo "unknown component $name" >&2; exit 2 ;;
  esac
  # Read from go.mod itself (no jq on a fresh machine): the first "<module> v..." line.
  awk -v m="$mod" '$1 == "require" && $2 == m { print $3; exit } $1 == m && $2 ~ /^v/ { print $2; exit }' "real/$name/go.mod"
}

build_one() {
  local name=$1 out version start
  version=$(version_of "$name")
  out=$(dir_for "$name")
  if [ -f "$out/.complete" ]; then
    echo "$name $version: cached ($out)"
    return
  fi
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin"
  start=$(date +%s)
  (
    cd "real/$name"
    case $name in
      kube)
        local minor=${version#v1.}; minor=${minor%%.*} ldflags=""
        for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
          ldflags="$ldflags -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
        done
        CGO_ENABLED=0 GOBIN="$out.tmp/bin" go install -p "$JOBS" -trimpath -ldflags "-s -w$ldflags" tool
        ;;
      etcd)
        CGO_ENABLED=0 go build -p "$JOBS" -trimpath -ldflags "-s -w" -o "$out.tmp/bin/etcd" .
        ;;
      kwok)
        CGO_ENABLED=0 GOBIN="$out.tmp/bin" go install -p "$JOBS" -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$version" tool
        ;;
      gitea)
        CGO_ENABLED=1 go build -p "$JOBS" -trimpath -tags 'sqlite sqlite_unlock_notify' \
          -ldflags "-s -w -X main.Version=${version#v}" -o "$out.tmp/bin/gitea" code.gitea.io/gitea
        # A build without embedded assets reads templates/ and options/ from its module.
        local src; src=$(go list -m -f '{{.Dir}}' code.gitea.io/gitea)
        mkdir -p "$out.tmp/static" && cp -r "$src/templates" "$src/options" "$out.tmp/static/" && chmod -R u+w "$out.tmp/static"
        ;;
      sops)
        CGO_ENABLED=0 GOBIN="$out.tmp/bin" go install -p "$JOBS" -trimpath -ldflags "-s -w" tool
        ;;
    esac
  )
  local took=$(( $(date +%s) - start ))
  echo "{\"version\":\"$version\",\"builtSeconds\":$took,\"builtAt\":\"$(date -u +%FT%TZ)\"}" > "$out.tmp/build.json"
  touch "$out.tmp/.complete"
  rm -rf "$out" && mv "$out.tmp" "$out"
  echo "$name $version: built in $took s ($out)"
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(all)
if [ "${names[0]}" = all ]; then names=(etcd kube kwok gitea sops); fi
if [ "${names[0]}" = dir ]; then dir_for "${names[1]}"; exit 0; fi
total_start=$(date +%s)
for n in "${names[@]}"; do build_one "$n"; done
echo "real components ready in $(( $(date +%s) - total_start )) s"
