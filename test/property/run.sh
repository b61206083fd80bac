#!/usr/bin/env bash
# SPEC §2 property test (test/run.sh runs it; it can be run alone, from anywhere): the same
# generated stream (tools/shopgen.mjs: PROPERTY_CUSTOMERS customers, default 200, over
# PROPERTY_MONTHS months, default 4, seed PROPERTY_SEED, default 2026; a few thousand events)
# ingested in order into database A, with every event delivered 1-3 times and shuffled within
# 10 minutes into B, and shuffled within 2 days by two concurrent sessions into C, must give
# identical object tables, event logs, aggregates and views; and again after rebuilding B and C
# from their logs. D: a charge and its refund ingested by two sessions in the one interleaving
# that once lost the refund's customer. See property.test.mjs for exactly what is compared. Runs on its own
# throw-away cluster (pg_virtualenv -t). The closing lines are node's test summary.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if [ -z "${PG_STRIPE_PROPERTY_CLUSTER:-}" ]; then
  # Several people start throw-away clusters on this machine: when pg_virtualenv loses a port
  # race before our script even ran, try again.
  export PG_STRIPE_PROPERTY_CLUSTER=$(mktemp -u /tmp/pg_stripe_property_started.XXXXXX)
  for attempt in 1 2 3; do
    pg_virtualenv -t "$0" "$@"; status=$?
    if [ -e "$PG_STRIPE_PROPERTY_CLUSTER" ]; then rm -f "$PG_STRIPE_PROPERTY_CLUSTER"; exit $status; fi
    echo "property: the throw-away cluster did not start (attempt $attempt), retrying" >&2
    sleep $((attempt * 3))
  done
  exit 1
fi
touch "$PG_STRIPE_PROPERTY_CLUSTER"
set -e

WORK=$(mktemp -d /tmp/pg_stripe_property.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

CUSTOMERS=${PROPERTY_CUSTOMERS:-200}
MONTHS=${PROPERTY_MONTHS:-4}
SEED=${PROPERTY_SEED:-2026}

t0=$SECONDS
gen() { node "$ROOT/tools/shopgen.mjs" --customers "$CUSTOMERS" --months "$MONTHS" --seed "$SEED" --dup-max 3 "$@"; }
gen --shuffle-window-sec 600 --out "$WORK/stream"
gen --shuffle-window-sec 172800 --no-inorder --out "$WORK/wide"

for db in prop_a prop_b prop_c prop_d; do
  createdb "$db"
  psql -XAtq -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION pg_stripe'
done

status=0
PROP_A=prop_a PROP_B=prop_b PROP_C=prop_c PROP_D=prop_d PROP_DATA="$WORK/stream" PROP_WIDE="$WORK/wide" \
  node --test "$HERE/property.test.mjs" || status=$?
echo "# property: seed $SEED, $((SECONDS - t0)) s"
exit $status
