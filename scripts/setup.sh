#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine, and nothing twice:
# Debian packages only when missing, Python packages into .venv from requirements.lock,
# npm packages from package-lock.json. Each step is skipped when its inputs are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# Debian packages: the TrueType-outline CJK font that reportlab can embed as a subset;
# for the tests (`setup.sh --test`) also Chromium, driven by Playwright (never its own
# download), SoftHSM2, the PKCS#11 token the HSM tests use, and the PostgreSQL and Redis
# servers' programs for the chaos suite's own instances; for the benchmarks
# (`setup.sh --bench`) wrk, the HTTP load generator.
DEBS=(fonts-wqy-zenhei)
[ "${1:-}" = "--test" ] && DEBS+=(chromium softhsm2 redis-server)
# The chaos suite makes a PostgreSQL cluster of its own (initdb, pg_ctl): the server's programs.
if [ "${1:-}" = "--test" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then DEBS+=(postgresql); fi
[ "${1:-}" = "--bench" ] && DEBS+=(wrk)
missing=()
for deb in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp() { cat "$@" | sha256sum | cut -c1-16; }

# Python packages.
py_stamp=$(stamp requirements.lock pyproject.toml)
if [ ! -x .venv/bin/python ] || [ "$(cat .setup-stamp-py 2>/dev/null)" != "$py_stamp" ]; then
  echo "setup: installing Python packages into .venv"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  echo "$py_stamp" > .setup-stamp-py
fi

# npm packages: the anvil chain node and the solc compiler.
npm_stamp=$(stamp package.json package-lock.json)
if [ ! -d node_modules ] || [ "$(cat .setup-stamp-npm 2>/dev/null)" != "$npm_stamp" ]; then
  echo "setup: installing npm packages"
  # `npm install` rather than `npm ci`: the registry here carries only this platform's
  # anvil binary package, so the lock lists just that one and `npm ci` calls it out of sync.
  # The versions still come from package-lock.json, which this leaves unchanged.
  npm install --no-audit --no-fund --loglevel=error >/dev/null
  echo "$npm_stamp" > .setup-stamp-npm
fi
