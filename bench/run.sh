#!/usr/bin/env bash
# bench/run.sh — `make bench`: builds and installs the extension, builds the bare-HMAC helper,
# then runs each benchmark section as `pg_virtualenv -t ... bash bench/<section>.sh` (a throw-away
# cluster per section) and prints one table at the end. BENCHMARKS.md has the machine, the
# figures and what limits them.
#
#   bench/run.sh [--sections verify,ingest,peer,concurrent,reads,memory] [--large]
#                [--rows N] [--repeat N] [--no-install] [--destdir DIR]
#
# Sections (default: all, 8-10 minutes on 2 cores):
#   verify      stripe.verify_signature vs pgcrypto PL/pgSQL vs bare OpenSSL HMAC
#   ingest      one session: stripe.ingest / ingest_event vs COPY and INSERT floors vs naive PL/pgSQL
#   peer        @supabase/stripe-sync-engine (bench/peer/) vs pg_stripe, same signed events
#   concurrent  1, 2, 4 sessions on one stream with duplicates: throughput, nothing lost or doubled
#   reads       dashboard queries at 100k and 1M events (naive, from the jsonb log: at 100k; --large: 1M)
#   memory      backend peak RSS while one session ingests 100k events vs after 10k
# --large: the larger run of BENCHMARKS.md (reads up to 10M events, memory over 1M events,
# ingest/concurrent over 100k deliveries); about an hour on 2 cores, ~45 GB of disk at its peak.
#
# --destdir DIR (BENCH_DESTDIR) installs with `make install DESTDIR=DIR` and points the throw-away
# cluster at it (extension_destdir, a Debian patch), leaving the system-wide install untouched;
# with --no-install the build already in DIR is used.
#
# Environment (flags override):
#   BENCH_SECTIONS        sections to run, comma-separated
#   BENCH_VERIFY_ROWS     rows of the verify table (default 100000)
#   BENCH_REPEAT          timed repetitions per measurement, median reported (default 5)
#   BENCH_SHARED_BUFFERS  shared_buffers of the throw-away cluster (default 1GB)
#   BENCH_FIXTURES        Stripe object shapes (default /work/shared/stripe/fixtures3.json if
#                         readable, else test/fixtures/stripe_objects.json)
#   BENCH_DATA            cache of generated shops (default $TMPDIR/pg_stripe_bench_data)
#   BENCH_OUT             also write the final table to this file
#   sizes: BENCH_INGEST_N, BENCH_INGEST_SYNC_N, BENCH_PEER_N, BENCH_PEER_BATCH, BENCH_CONCURRENT_N,
#          BENCH_CONCURRENT_SESSIONS, BENCH_READS_SIZES, BENCH_READS_NAIVE_MAX, BENCH_MEMORY_N
#          (each section's header says what they mean and their defaults)
#
# A section is bench/<name>.sh, run with the PG* variables of its cluster, BENCH_RESULTS (write
# table rows to $BENCH_RESULTS/<name>.tsv as `label TAB value TAB unit TAB note`), BENCH_WORK
# (scratch directory) and BENCH_BARE_HMAC (the helper binary); bench/lib/common.sh has helpers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECTIONS=${BENCH_SECTIONS:-verify,ingest,peer,concurrent,reads,memory}
STARTED=$SECONDS
INSTALL=1
while [ $# -gt 0 ]; do
  case $1 in
    --sections) SECTIONS=$2; shift 2 ;;
    --rows) export BENCH_VERIFY_ROWS=$2; shift 2 ;;
    --repeat) export BENCH_REPEAT=$2; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --destdir) BENCH_DESTDIR=$2; shift 2 ;;
    --large)
      export BENCH_INGEST_N=${BENCH_INGEST_N:-100000} BENCH_INGEST_SYNC_N=${BENCH_INGEST_SYNC_N:-10000}
      export BENCH_PEER_N=${BENCH_PEER_N:-50000} BENCH_CONCURRENT_N=${BENCH_CONCURRENT_N:-100000}
      export BENCH_READS_SIZES=${BENCH_READS_SIZES:-100000 1000000 10000000} BENCH_MEMORY_N=${BENCH_MEMORY_N:-1000000}
      export BENCH_READS_SHARDS_AT=${BENCH_READS_SHARDS_AT:-1000000} BENCH_READS_NAIVE_TIMEOUT=${BENCH_READS_NAIVE_TIMEOUT:-60}
      export BENCH_READS_NAIVE_MAX=${BENCH_READS_NAIVE_MAX:-1000000}
      shift ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
export BENCH_VERIFY_ROWS=${BENCH_VERIFY_ROWS:-100000}
export BENCH_REPEAT=${BENCH_REPEAT:-5}
SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-1GB}
DESTDIR_OPT=()
if [ -n "${BENCH_DESTDIR:-}" ]; then
  BENCH_DESTDIR=$(realpath -m "$BENCH_DESTDIR")
  DESTDIR_OPT=(-o "extension_destdir=$BENCH_DESTDIR")
fi

if [ "$INSTALL" = 1 ]; then
  echo "== build and install the extension${BENCH_DESTDIR:+ into $BENCH_DESTDIR}"
  make -s
  if [ -n "${BENCH_DESTDIR:-}" ]; then
    make install -s DESTDIR="$BENCH_DESTDIR"
    chmod -R a+rX "$BENCH_DESTDIR"
  else
    make install -s
  fi
fi

export BENCH_WORK=$(mktemp -d /tmp/pg_stripe_bench.XXXXXX)
export BENCH_RESULTS=$BENCH_WORK/results
mkdir -p "$BENCH_RESULTS"
chmod 755 "$BENCH_WORK"
trap 'rm -rf "$BENCH_WORK"' EXIT

echo "== build bench/bare_hmac"
export BENCH_BARE_HMAC=$BENCH_WORK/bare_hmac
g++ -std=c++17 -O2 -Wall -Isrc/core -o "$BENCH_BARE_HMAC" bench/bare_hmac.cpp src/core/signature.cpp -lcrypto

IFS=, read -r -a SECTION_LIST <<< "$SECTIONS"
for s in "${SECTION_LIST[@]}"; do
  [ -f "bench/$s.sh" ] || { echo "bench/run.sh: no section bench/$s.sh" >&2; exit 2; }
done
for s in "${SECTION_LIST[@]}"; do
  echo "== section $s ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
  t0=$SECONDS
  # Several people start throw-away clusters on this machine: when pg_virtualenv loses a port
  # race before the section even started, try again.
  for attempt in 1 2 3; do
    marker=$BENCH_WORK/started_$s
    rm -f "$marker"
    status=0
    pg_virtualenv -t -o "shared_buffers=$SHARED_BUFFERS" -o "max_wal_size=8GB" -o "checkpoint_timeout=15min" \
      "${DESTDIR_OPT[@]}" bash -c 'touch "$1"; exec bash "$2"' _ "$marker" "bench/$s.sh" || status=$?
    [ -e "$marker" ] && break
    echo "bench/run.sh: the cluster for $s did not start (attempt $attempt), retrying" >&2
    sleep $((attempt * 3))
  done
  [ "$status" = 0 ] || { echo "bench/run.sh: section $s failed" >&2; exit 1; }
  echo "   $s took $((SECONDS - t0)) s"
done

# One table over all sections (also written to $BENCH_OUT when set).
exec > >(tee ${BENCH_OUT:+"$BENCH_OUT"})
echo
echo "pg_stripe benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(pg_config --version), shared_buffers $SHARED_BUFFERS, median of $BENCH_REPEAT, $((SECONDS - STARTED)) s"
for s in "${SECTION_LIST[@]}"; do
  f=$BENCH_RESULTS/$s.tsv
  [ -s "$f" ] || { echo "section $s produced no results" >&2; exit 1; }
  awk -F'\t' -v section="$s" '{ print section "\t" $0 }' "$f"
done | awk -F'\t' '
  { sec[NR] = $1; lab[NR] = $2; val[NR] = $3; unit[NR] = $4; note[NR] = $5
    for (i = 1; i <= 4; i++) if (length($i) > w[i]) w[i] = length($i) }
  END {
    if (w[1] < 7) w[1] = 7; if (w[2] < 11) w[2] = 11
    fmt = "%-" w[1] "s  %-" w[2] "s  %" (w[3] > 5 ? w[3] : 5) "s  %-" (w[4] > 4 ? w[4] : 4) "s  %s\n"
    printf fmt, "section", "measurement", "value", "unit", "note"
    line = ""; for (i = 0; i < w[1] + w[2] + w[3] + w[4] + 30; i++) line = line "-"; print line
    for (r = 1; r <= NR; r++) printf fmt, sec[r], lab[r], val[r], unit[r], note[r]
  }'
