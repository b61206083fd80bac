#!/usr/bin/env bash
# SPEC §3 reference check (test/run.sh runs it; it can be run alone, from anywhere).
#
#  1. tools/shopgen.mjs generates a shop (REFERENCE_CUSTOMERS customers, default 300, over
#     REFERENCE_MONTHS months, default 6, seed REFERENCE_SEED, default 42): the delivery stream
#     (every event 1-3 times, shuffled within 10 minutes) and truth.json, the final state of
#     every object;
#  2. scenarios.mjs writes the hand-built edge cases (retry after a decline, refund after the
#     month ended, dispute on a refunded charge, customer deleted after paying, payment without
#     a customer, expired authorization, KWD and the Seoul day boundary, RFM ties, a DST switch)
#     with their
#     hand-computed figures;
#  3. on its own throw-away cluster (pg_virtualenv -t) each stream is ingested through
#     stripe.ingest_event into its own database, and node's test runner compares the object
#     tables and every view and function, all columns, in UTC, Asia/Seoul and America/New_York
#     (a DST zone), with the independent JS computation (reference.mjs), then checks that
#     stripe.rebuild() changes nothing. The closing lines are node's test summary.
# Needs the extension installed (make install) and node >= 20. Exit status 0 iff all passed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if [ -z "${PG_STRIPE_REFERENCE_CLUSTER:-}" ]; then
  # Several people start throw-away clusters on this machine: when pg_virtualenv loses a port
  # race before our script even ran, try again.
  export PG_STRIPE_REFERENCE_CLUSTER=$(mktemp -u /tmp/pg_stripe_reference_started.XXXXXX)
  for attempt in 1 2 3; do
    pg_virtualenv -t "$0" "$@"; status=$?
    if [ -e "$PG_STRIPE_REFERENCE_CLUSTER" ]; then rm -f "$PG_STRIPE_REFERENCE_CLUSTER"; exit $status; fi
    echo "reference: the throw-away cluster did not start (attempt $attempt), retrying" >&2
    sleep $((attempt * 3))
  done
  exit 1
fi
touch "$PG_STRIPE_REFERENCE_CLUSTER"
set -e

WORK=$(mktemp -d /tmp/pg_stripe_reference.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

CUSTOMERS=${REFERENCE_CUSTOMERS:-300}
MONTHS=${REFERENCE_MONTHS:-6}
SEED=${REFERENCE_SEED:-42}

t0=$SECONDS
node "$ROOT/tools/shopgen.mjs" --customers "$CUSTOMERS" --months "$MONTHS" --seed "$SEED" \
  --dup-max 3 --shuffle-window-sec 600 --out "$WORK/shop"
node "$HERE/scenarios.mjs" --out "$WORK/edge"

for db in ref_shop ref_edge; do
  createdb "$db"
  psql -XAtq -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION pg_stripe'
done

status=0
EDGE_DB=ref_edge EDGE_DATA="$WORK/edge" \
REF_DB=ref_shop REF_DATA="$WORK/shop" REF_LABEL="shop ($CUSTOMERS customers, $MONTHS months, seed $SEED)" \
  node --test --test-concurrency=1 "$HERE/scenarios.test.mjs" "$HERE/reference.test.mjs" || status=$?
echo "# reference: $((SECONDS - t0)) s"
exit $status
