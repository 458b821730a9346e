#!/usr/bin/env bash
# Installs what coffer needs to build, run and test on Debian 12: compilers and libraries from
# Debian's packages, and the AWS SDK for JavaScript (for the end-to-end tests) from npm.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

build_packages=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libssl-dev libsqlite3-dev zlib1g-dev libcli11-dev libpq-dev
  libre2-dev libjemalloc-dev
  libgtest-dev libgmock-dev
  # The PostgreSQL rotation tests start a throwaway server of their own (initdb, pg_ctl).
  postgresql
  # npm installs the dashboard's charting library, which the build compiles in.
  nodejs npm
)
# prometheus: for promtool, which checks GET /metrics in the tests.
# chromium (and a font for its screenshots): the dashboard's tests drive it headless.
test_packages=(awscli python3 wrk openssl prometheus chromium fonts-liberation)

want=("${build_packages[@]}")
if [ "${1:-}" != "--build-only" ]; then want+=("${test_packages[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from outside Debian's packages; accept them when present.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Installing Debian's prometheus package also starts a Prometheus server (listening on every
  # address, port 9090) where systemd runs; the tests need only its promtool.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null &&
     systemctl is-active --quiet prometheus 2>/dev/null; then
    echo "install-deps: stopping and disabling the prometheus service the package started"
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# The dashboard's charting library (uPlot, pinned in src/ui/package-lock.json) is compiled into
# the binary, so the build needs it too.
if [ ! -d src/ui/node_modules ] || [ src/ui/package-lock.json -nt src/ui/node_modules ]; then
  echo "install-deps: npm ci in src/ui"
  (cd src/ui && npm ci --no-audit --no-fund --loglevel=error)
  touch src/ui/node_modules
fi

if [ "${1:-}" != "--build-only" ] && [ -f tests/e2e/js/package-lock.json ]; then
  if [ ! -d tests/e2e/js/node_modules ] ||
     [ tests/e2e/js/package-lock.json -nt tests/e2e/js/node_modules ]; then
    echo "install-deps: npm ci in tests/e2e/js"
    (cd tests/e2e/js && npm ci --no-audit --no-fund --loglevel=error)
    touch tests/e2e/js/node_modules
  fi
fi
