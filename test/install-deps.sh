#!/usr/bin/env bash
# Installs what pg_stripe needs to build, test, demo and benchmark on a fresh Debian 12 machine.
# Idempotent: packages already present are not fetched again. Run as root (or with sudo).
set -euo pipefail
PKGS=(postgresql-15 postgresql-contrib postgresql-server-dev-15 postgresql-common
      libssl-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev
      g++ clang libclang-rt-14-dev cmake make pkg-config
      nodejs npm
      chromium fonts-dejavu-core)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node 20 may come from outside Debian's nodejs package on this machine kind: accept any node.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
