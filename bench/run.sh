#!/usr/bin/env bash
# bench/run.sh — `make bench`: builds and installs the extension, builds the bare-HMAC helper,
# then runs each benchmark section as `pg_virtualenv ... bash bench/<section>.sh` (a throw-away
# cluster per section) and prints one table at the end.
#
#   bench/run.sh [--sections verify[,ingest,...]] [--rows N] [--repeat N] [--no-install] [--destdir DIR]
#
# --destdir DIR (BENCH_DESTDIR) installs with `make install DESTDIR=DIR` and points the throw-away
# cluster at it (extension_destdir, a Debian patch), leaving the system-wide install untouched;
# with --no-install the build already in DIR is used.
#
# Environment (flags override):
#   BENCH_SECTIONS        sections to run, comma-separated (default: verify)
#   BENCH_VERIFY_ROWS     rows of the verify table (default 100000)
#   BENCH_REPEAT          timed repetitions per measurement, median reported (default 5)
#   BENCH_SHARED_BUFFERS  shared_buffers of the throw-away cluster (default 1GB: the table stays cached)
#   BENCH_FIXTURES        Stripe object shapes (default /work/shared/stripe/fixtures3.json)
#
# A section is bench/<name>.sh, run with the PG* variables of its cluster, BENCH_RESULTS (write
# table rows to $BENCH_RESULTS/<name>.tsv as `label TAB value TAB unit TAB note`), BENCH_WORK
# (scratch directory) and BENCH_BARE_HMAC (the helper binary).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECTIONS=${BENCH_SECTIONS:-verify}
INSTALL=1
while [ $# -gt 0 ]; do
  case $1 in
    --sections) SECTIONS=$2; shift 2 ;;
    --rows) export BENCH_VERIFY_ROWS=$2; shift 2 ;;
    --repeat) export BENCH_REPEAT=$2; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --destdir) BENCH_DESTDIR=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
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
  echo "== section $s"
  pg_virtualenv -o "shared_buffers=$SHARED_BUFFERS" -o "max_wal_size=4GB" "${DESTDIR_OPT[@]}" bash "bench/$s.sh"
done

# One table over all sections.
echo
echo "pg_stripe benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(pg_config --version), rows=$BENCH_VERIFY_ROWS, median of $BENCH_REPEAT"
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
