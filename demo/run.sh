#!/usr/bin/env bash
# `make demo`: a generated shop's Stripe events, signed and delivered over HTTP to the Express
# receiver (examples/express), into a throw-away Postgres cluster; then the report and the
# dashboard. Touches no Postgres server of yours and leaves nothing running.
#
#   ./demo/run.sh [--customers N] [--months M] [--seed S] [--tz ZONE] [--out DIR] [--concurrency C]
#                 [--batch B]
#
#  1. installs what is missing (test/install-deps.sh), builds and installs the extension
#  2. npm ci in examples/express; a throw-away cluster (pg_virtualenv -t)
#  3. CREATE EXTENSION, an endpoint with a random whsec_ secret, an ingest-only login role
#  4. the receiver on a free loopback port, connected as that role (PGBATCH_MAX=B with --batch)
#  5. tools/shopgen.mjs writes the shop's events (with Stripe's duplicates and disorder)
#  6. demo/deliver.mjs signs each one as Stripe would and POSTs it (C in flight, progress bar)
#  7. SELECT * FROM stripe.report(), and stripe.dashboard_html() into OUT/dashboard.html
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

usage() {
  sed -n '6,7p' "$0" | sed 's/^#   \.\//usage: .\//; s/^#    /    /'
  cat <<'EOF'
  --customers N    customers in the generated shop (default 3000)
  --months M       months of history (default 6)
  --seed S         generator seed (default 42): same seed, same shop
  --tz ZONE        reporting time zone, the setting stripe.timezone (default UTC)
  --out DIR        where events, truth and dashboard.html go (default ./out)
  --concurrency C  deliveries in flight (default 8)
  --batch B        the receiver hands deliveries that arrive together to one transaction, up to
                   B (its PGBATCH_MAX; default 1: one delivery per transaction)
EOF
}

if [ "${1:-}" != "--inside-virtualenv" ]; then
  CUSTOMERS=3000 MONTHS=6 SEED=42 REPORT_TZ=UTC OUT=./out CONCURRENCY=8 BATCH=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --customers|--months|--seed|--tz|--out|--concurrency|--batch)
        [ $# -ge 2 ] || { echo "demo: $1 needs a value" >&2; usage >&2; exit 2; }
        case "$1" in
          --customers) CUSTOMERS=$2 ;; --months) MONTHS=$2 ;; --seed) SEED=$2 ;;
          --tz) REPORT_TZ=$2 ;; --out) OUT=$2 ;; --concurrency) CONCURRENCY=$2 ;; --batch) BATCH=$2 ;;
        esac
        shift 2 ;;
      --customers=*) CUSTOMERS=${1#*=}; shift ;;
      --months=*) MONTHS=${1#*=}; shift ;;
      --seed=*) SEED=${1#*=}; shift ;;
      --tz=*) REPORT_TZ=${1#*=}; shift ;;
      --out=*) OUT=${1#*=}; shift ;;
      --concurrency=*) CONCURRENCY=${1#*=}; shift ;;
      --batch=*) BATCH=${1#*=}; shift ;;
      -h|--help) usage; exit 0 ;;
      *) echo "demo: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
  done
  for v in CUSTOMERS MONTHS SEED CONCURRENCY BATCH; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "demo: --${v,,} must be a whole number" >&2; exit 2; }
  done

  T0=$(date +%s)
  echo "== 1/7 dependencies, build, install"
  ./test/install-deps.sh
  JOBS=$(nproc 2>/dev/null || echo 2)
  make -s -j"$JOBS" >/dev/null
  make -s install >/dev/null
  echo "== 2/7 npm ci (examples/express)"
  (cd examples/express && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  mkdir -p "$OUT"
  OUT=$(cd "$OUT" && pwd)
  export DEMO_CUSTOMERS=$CUSTOMERS DEMO_MONTHS=$MONTHS DEMO_SEED=$SEED DEMO_TZ=$REPORT_TZ
  export DEMO_OUT=$OUT DEMO_CONCURRENCY=$CONCURRENCY DEMO_BATCH=$BATCH DEMO_T0=$T0
  # pg_virtualenv makes a cluster in a temporary directory, runs us inside it (PG* variables set)
  # and drops the cluster afterwards, whatever happens. Starting it can lose a race for a port
  # with another throw-away cluster starting at the same moment: then try again.
  export PGS_STARTED; PGS_STARTED=$(mktemp)
  for try in 1 2 3; do
    : >"$PGS_STARTED"
    rc=0; pg_virtualenv -t "$0" --inside-virtualenv || rc=$?
    if [ $rc -eq 0 ] || [ $rc -gt 128 ] || [ -s "$PGS_STARTED" ]; then rm -f "$PGS_STARTED"; exit $rc; fi
    echo "(the throw-away cluster did not start, try $try of 3)" >&2
    sleep $((try * 2))
  done
  rm -f "$PGS_STARTED"; exit $rc
fi

# ---- inside the throw-away cluster --------------------------------------------------------------
echo started >"${PGS_STARTED:-/dev/null}"
SERVER_PID=
LOG="$DEMO_OUT/receiver.log"
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ]; then
    echo "demo: failed (exit $rc)" >&2
    [ -s "$LOG" ] && { echo "--- receiver log (last 20 lines)" >&2; tail -20 "$LOG" >&2; }
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql() { command psql -X -q -v ON_ERROR_STOP=1 -P pager=off "$@"; }
rand() { node -e "process.stdout.write(require('crypto').randomBytes($1).toString('base64url'))"; }

echo "== 3/7 cluster on port $PGPORT: extension, endpoint, ingest role"
WHSEC="whsec_$(rand 24)"
APP_PASSWORD=$(rand 18)
echo "SELECT now() AT TIME ZONE :'tz'" | psql -v tz="$DEMO_TZ" >/dev/null 2>&1 || {
  echo "demo: --tz '$DEMO_TZ' is not a time zone Postgres knows (e.g. UTC, Europe/Paris, Asia/Seoul)" >&2; exit 2; }
psql -v whsec="$WHSEC" -v app_password="$APP_PASSWORD" -v tz="$DEMO_TZ" -v db="$PGDATABASE" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_stripe;
SELECT stripe.create_endpoint('default', :'whsec');
-- What the receiver logs in as: may call stripe.ingest, nothing else.
CREATE ROLE demo_webhook LOGIN PASSWORD :'app_password';
GRANT stripe_ingest TO demo_webhook;
ALTER DATABASE :"db" SET stripe.timezone = :'tz';
-- Days and cohorts of the reporting zone kept at ingest (UTC always is).
SELECT stripe.add_reporting_zone(:'tz');
SQL

echo "== 4/7 receiver (examples/express/server.js) as role demo_webhook"
: >"$LOG"
PGHOST=127.0.0.1 PGUSER=demo_webhook PGPASSWORD="$APP_PASSWORD" HOST=127.0.0.1 PORT=0 \
  STRIPE_ENDPOINT=default PGPOOL_MAX="$DEMO_CONCURRENCY" PGBATCH_MAX="$DEMO_BATCH" \
  node examples/express/server.js >>"$LOG" 2>&1 &
SERVER_PID=$!
URL=
for _ in $(seq 100); do
  URL=$(sed -n 's|.*listening on \(http://127\.0\.0\.1:[0-9]*\).*|\1|p' "$LOG")
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "demo: the receiver exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "demo: the receiver did not start" >&2; exit 1; }
echo "   listening on $URL (pid $SERVER_PID$([ "$DEMO_BATCH" -gt 1 ] && echo "; up to $DEMO_BATCH deliveries per transaction"))"

echo "== 5/7 generating a shop: $DEMO_CUSTOMERS customers, $DEMO_MONTHS months, seed $DEMO_SEED"
SHOPGEN=${SHOPGEN:-$ROOT/tools/shopgen.mjs}
[ -f "$SHOPGEN" ] || { echo "demo: $SHOPGEN is missing" >&2; exit 1; }
t=$SECONDS
node "$SHOPGEN" --customers "$DEMO_CUSTOMERS" --months "$DEMO_MONTHS" --seed "$DEMO_SEED" --out "$DEMO_OUT"
echo "   $(wc -l <"$DEMO_OUT/events_inorder.jsonl") events, $(wc -l <"$DEMO_OUT/events.jsonl") deliveries (with redeliveries, out of order) in $((SECONDS - t)) s"

echo "== 6/7 signing and delivering over HTTP to $URL/stripe/webhook"
WHSEC="$WHSEC" node demo/deliver.mjs --url "$URL/stripe/webhook" --file "$DEMO_OUT/events.jsonl" \
  --concurrency "$DEMO_CONCURRENCY" --stats "$DEMO_OUT/delivery.json"
kill -TERM "$SERVER_PID" && wait "$SERVER_PID" || true
SERVER_PID=

echo "== 7/7 report (stripe.timezone = $DEMO_TZ)"
# The database against the generator's final state of every object (truth.json): the same ids
# and key fields, whatever the redeliveries and the arrival order were.
psql -P footer=off <<'SQL'
\set truth `cat "$DEMO_OUT/truth.json"`
CREATE TEMP TABLE truth AS SELECT :'truth'::jsonb AS j;
\unset truth
WITH fields(kind, f) AS (VALUES
    ('charges', '{status,amount_captured,amount_refunded,deleted}'::text[]), ('refunds', '{status,amount}'),
    ('disputes', '{status,amount}'), ('customers', '{email,deleted}'), ('payment_intents', '{status,amount_received}'),
    ('checkout_sessions', '{status,payment_status}'), ('subscriptions', '{status}'), ('invoices', '{status,amount_paid}')),
t AS (SELECT kind, f, e->>'id' AS id, e FROM fields, truth, jsonb_array_elements(truth.j->kind) e),
d AS (SELECT 'charges' AS kind, id, to_jsonb(x) AS r FROM stripe.charges x
      UNION ALL SELECT 'refunds', id, to_jsonb(x) FROM stripe.refunds x
      UNION ALL SELECT 'disputes', id, to_jsonb(x) FROM stripe.disputes x
      UNION ALL SELECT 'customers', id, to_jsonb(x) FROM stripe.customers x
      UNION ALL SELECT 'payment_intents', id, to_jsonb(x) FROM stripe.payment_intents x
      UNION ALL SELECT 'checkout_sessions', id, to_jsonb(x) FROM stripe.checkout_sessions x
      UNION ALL SELECT 'subscriptions', id, to_jsonb(x) FROM stripe.subscriptions x
      UNION ALL SELECT 'invoices', id, to_jsonb(x) FROM stripe.invoices x)
SELECT 'events' AS "stored vs truth.json", (SELECT (j->'meta'->>'events')::int FROM truth) AS expected,
       (SELECT count(*) FROM stripe.events)::int AS stored, NULL::int AS differing
UNION ALL
(SELECT kind, count(t.id)::int, count(d.id)::int,
        (count(*) FILTER (WHERE t.id IS NULL OR d.id IS NULL
                            OR EXISTS (SELECT 1 FROM unnest(t.f) k WHERE t.e->k IS DISTINCT FROM d.r->k)))::int
   FROM t FULL JOIN d USING (kind, id) GROUP BY kind ORDER BY kind);
SQL

has_function() { [ "$(psql -Atc "SELECT count(*) FROM pg_proc WHERE proname = '$1' AND pronamespace = 'stripe'::regnamespace")" != 0 ]; }
# Deliveries that ran at once wrote their aggregate deltas to different shards (rows the views
# sum); the nightly job folds them.
if has_function compact_aggregates; then
  psql -At <<'SQL'
SELECT format('aggregates: %s rows over %s shards (transactions that ran at once); stripe.compact_aggregates(), as a nightly job would run it, folded them into %s rows in %s ms',
              sum(rows_before), max(shards), sum(rows_after), round(extract(epoch FROM clock_timestamp() - now()) * 1000))
  FROM stripe.compact_aggregates();
SQL
fi
if has_function report; then
  psql -At -c 'SELECT * FROM stripe.report()'
  psql -At <<'SQL'
SELECT format('(the platform''s live data; also: stripe.report(account => %s), stripe.report(livemode => false))',
              string_agg(DISTINCT quote_literal(account), ' or '))
  FROM stripe.events WHERE account IS NOT NULL HAVING count(*) > 0;
SQL
else
  echo "(stripe.report() is not in this build: the views instead)"
  psql <<'SQL'
SELECT * FROM stripe.payments_monthly ORDER BY account, livemode, currency, month;
SELECT * FROM stripe.decline_reasons ORDER BY failed_payments DESC LIMIT 10;
SELECT segment, count(*) AS customers FROM stripe.customer_rfm() GROUP BY segment ORDER BY customers DESC;
SQL
fi
if has_function dashboard_html; then
  psql -At -c 'SELECT stripe.dashboard_html()' >"$DEMO_OUT/dashboard.html"
  echo "dashboard: $DEMO_OUT/dashboard.html"
else
  echo "(stripe.dashboard_html() is not in this build: no dashboard)"
fi
echo "demo finished in $(( $(date +%s) - DEMO_T0 )) s; the cluster is dropped now, nothing keeps running."
