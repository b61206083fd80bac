#!/usr/bin/env bash
# The README's test command (`make test`): everything from a fresh Debian machine.
#  1. installs the Debian packages it needs
#  2. the pure C++ core: unit tests (CTest), then again under ASan+UBSan, then bounded fuzzing
#  3. builds and installs the extension
#  4. on a throw-away cluster (pg_virtualenv): pg_regress, stripe-node conformance, and the
#     SQL-level property, reference, load and crash tests
# Prints one closing line "N passed, N failed" over the stages.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}
passed=0; failed=0; failures=()

stage() {  # stage NAME COMMAND...
  local name=$1; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then passed=$((passed+1)); echo "=== $name: ok ($((SECONDS-t0)) s)"
  else failed=$((failed+1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS-t0)) s)"; fi
}

./test/install-deps.sh || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }

stage "core unit tests" bash -c "cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build -j$JOBS >/dev/null && ctest --test-dir build --output-on-failure"
stage "core unit tests under ASan+UBSan" bash -c "cmake -S . -B build-asan -DPGS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null && cmake --build build-asan -j$JOBS >/dev/null && ctest --test-dir build-asan --output-on-failure"
if [ -x test/fuzz/run.sh ]; then stage "bounded fuzzing" ./test/fuzz/run.sh; fi

stage "build and install extension" bash -c "make -j$JOBS >/dev/null && make install >/dev/null"

# Postgres refuses to run as root: pg_virtualenv makes a cluster owned by postgres and exports
# PGHOST/PGPORT/PGUSER/PGPASSWORD for the command. pg_regress writes into results/.
stage "pg_regress" pg_virtualenv -t make installcheck
if [ -x test/conformance/run.sh ]; then stage "stripe-node conformance" pg_virtualenv -t ./test/conformance/run.sh; fi
# Every other suite is test/<suite>/run.sh, run from the top of the tree; each one starts the
# throw-away cluster(s) it needs itself (most with `pg_virtualenv -t`).
for suite in reference property express dashboard reliability; do
  if [ -x "test/$suite/run.sh" ]; then stage "$suite" "./test/$suite/run.sh"; fi
done

[ -f regression.diffs ] && [ $failed -gt 0 ] && head -200 regression.diffs
echo
[ ${#failures[@]} -gt 0 ] && echo "failed stages: ${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
