#!/usr/bin/env bash
# `npm test`: the tap suite in groups, each its own tap run with its own summary line.
#
#   main                 test/**/*.test.ts except test/real/: Redis, git, kustomize, helm, the
#                        Kubernetes API test server and the forge stand-ins
#   real control plane   test/real/kube/ and test/kube/kube-api-server.test.ts against a real
#                        kube-apiserver, etcd, controllers and kwok nodes built from Go modules
#   real gitea           test/real/gitea/ against a real Gitea built from its Go module (with
#                        the real control plane)
#
# Without Go (and nothing cached) the real groups are skipped with one line each, unless
# LANDFALL_REQUIRE_REAL=1 (CI), where that is a failure. LANDFALL_REAL=0 skips them on purpose.
# Arguments are passed to every tap run (e.g. --reporter=terse). Each group ends with a line
# "<group>: N passed, N failed" computed from tap's own `# { total: .., pass: .. }`.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output
status=0

# "N passed, N failed" from the last tap summary in a file.
counts() {
  local line get
  line=$(grep -E '^# \{ total: [0-9]+' "$1" | tail -1)
  if [ -z "$line" ]; then echo "0 passed, 1 failed"; return; fi
  get() { echo "$line" | grep -oE "$1: [0-9]+" | grep -oE '[0-9]+' || echo 0; }
  local total pass fail other
  total=$(get total); pass=$(get pass); fail=$(get fail)
  other=$(( total - pass - fail - $(get skip) - $(get todo) ))
  [ "$other" -gt 0 ] && fail=$(( fail + other ))
  echo "${pass} passed, ${fail} failed"
}

# Runs one tap group; prints its summary line with an optional suffix.
group() {
  local name=$1 file=$2 suffix=$3; shift 3
  echo "== $name"
  npx tap "$@" 2>&1 | tee "$file"
  local rc=${PIPESTATUS[0]} line
  line="$(counts "$file")"
  if [ "$rc" -ne 0 ] && [[ "$line" == *" 0 failed" ]]; then line="${line% 0 failed} 1 failed"; fi
  echo "$name: $line$suffix" | tee -a test-output/summary.txt
  [ "$rc" -eq 0 ] || status=1
}

: > test-output/summary.txt
group "main suite" test-output/tap-main.txt "" "$@"

real_skip=""
if [ "${LANDFALL_REAL:-1}" = "0" ]; then
  real_skip="LANDFALL_REAL=0"
elif ! command -v go >/dev/null 2>&1 && [ ! -f "$(scripts/real/build.sh dir kube 2>/dev/null)/.complete" ]; then
  real_skip="Go is not installed, so the real control plane and Gitea cannot be built (see README, Tests)"
fi

if [ -n "$real_skip" ]; then
  echo "real control plane: skipped ($real_skip)" | tee -a test-output/summary.txt
  echo "real gitea: skipped ($real_skip)" | tee -a test-output/summary.txt
  if [ "${LANDFALL_REQUIRE_REAL:-0}" = "1" ]; then status=1; fi
  exit $status
fi

# Start the control plane unless one is up for this checkout already (then leave it running).
was_up=0
npx tsx scripts/real/cluster.ts status >/dev/null 2>&1 && was_up=1
if ! up=$(npx tsx scripts/real/cluster.ts up 2>&1); then
  echo "$up"
  echo "real control plane: 0 passed, 1 failed (the control plane did not start)" | tee -a test-output/summary.txt
  exit 1
fi
echo "$up"
if [ "$was_up" = "0" ]; then trap 'npx tsx scripts/real/cluster.ts down >/dev/null 2>&1' EXIT; fi
eval "$(npx tsx scripts/real/cluster.ts env)"
info=$(npx tsx -e "import('./scripts/real/cluster.ts').then(m => { const i = m.readCluster(); console.log(i.version + ' ' + i.build); })")
version=${info%% *}; build=${info#* }
suffix=" (kubernetes $version, ${LANDFALL_REAL_KUBE_BUILD:-binaries $build})"
LANDFALL_E2E_KUBECONFIG="$LANDFALL_E2E_KUBECONFIG" group "real control plane" test-output/tap-real-kube.txt "$suffix" \
  --timeout=600 "$@" test/kube/kube-api-server.test.ts test/real/kube

if [ -d test/real/gitea ]; then
  gitea_line=$(scripts/real/build.sh gitea 2>&1 | grep -E '^gitea ' | tail -1)
  gitea_version=$(echo "$gitea_line" | awk '{print $2}' | tr -d ':')
  gitea_build=${LANDFALL_REAL_GITEA_BUILD:-$(echo "$gitea_line" | grep -oE 'built in [0-9]+ s|cached' || echo unknown)}
  # Start Gitea unless one is up for this checkout already (then leave it running). The shared
  # Gitea API test runs here against the real Gitea, in the main group against the stand-in.
  gitea_was_up=0
  npx tsx scripts/real/gitea.ts status >/dev/null 2>&1 && gitea_was_up=1
  if gitea_up=$(npx tsx scripts/real/gitea.ts up 2>&1); then
    echo "$gitea_up"
    eval "$(npx tsx scripts/real/gitea.ts env)"
    LANDFALL_E2E_KUBECONFIG="$LANDFALL_E2E_KUBECONFIG" group "real gitea" test-output/tap-real-gitea.txt " (gitea $gitea_version, $gitea_build)" \
      --timeout=600 "$@" test/forges/gitea-api.test.ts test/real/gitea
    if [ "$gitea_was_up" = "0" ]; then npx tsx scripts/real/gitea.ts down >/dev/null 2>&1; fi
  else
    echo "$gitea_up"
    echo "real gitea: 0 passed, 1 failed (Gitea did not start)" | tee -a test-output/summary.txt
    status=1
  fi
fi
exit $status
