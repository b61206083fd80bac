#!/usr/bin/env bash
# Bounded libFuzzer runs of the pure C++ core (test/fuzz/*_fuzz.cpp), part of test/run.sh.
#   FUZZ_SECONDS  seconds per target (default 20)
#   FUZZ_JOBS     build parallelism (default 2)
# Builds with clang into build-fuzz/ (-DPGS_FUZZ=ON: ASan + UBSan + libFuzzer), then runs each
# target over its committed seed corpus (test/fuzz/corpus/<target>/, read-only) plus a scratch
# corpus in build-fuzz/. Any crash, leak, sanitizer report or invariant abort fails the run;
# libFuzzer leaves the reproducer in build-fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-20}
JOBS=${FUZZ_JOBS:-${JOBS:-2}}
BUILD=build-fuzz

# libFuzzer's runtime ships in libclang-rt-14-dev (test/install-deps.sh installs it).
if ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  echo "fuzz: libFuzzer runtime missing; installing libclang-rt-14-dev"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libclang-rt-14-dev >/dev/null
fi

cmake -S . -B "$BUILD" -DPGS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target header_fuzz json_fuzz event_fuzz >/dev/null

status=0
for src in test/fuzz/*_fuzz.cpp; do
  name=$(basename "$src" .cpp)
  seeds=test/fuzz/corpus/$name
  scratch=$BUILD/fuzz-corpus-$name
  mkdir -p "$scratch"
  echo "fuzz: $name for ${SECONDS_EACH}s (seeds: $(ls "$seeds" | wc -l) files)"
  # -artifact_prefix keeps crash files out of the source tree; the scratch corpus comes first so
  # that new inputs are written there, never into the committed seeds.
  if "$BUILD/$name" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
       -print_final_stats=1 -artifact_prefix="$BUILD/$name-" "$scratch" "$seeds" >"$BUILD/$name.log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done)" "$BUILD/$name.log" | tr '\n' ' '; echo
    echo "fuzz: $name ok"
  else
    status=1
    echo "fuzz: $name FAILED; last lines of $BUILD/$name.log:"
    tail -40 "$BUILD/$name.log"
  fi
done
exit $status
