#!/usr/bin/env bash
# The Express example (examples/express) against a real cluster, over real HTTP.
# Needs the extension built and installed (test/run.sh does that first; alone: make && make install).
#  - npm ci in examples/express (express, pg, and stripe-node for signing)
#  - a throw-away cluster (pg_virtualenv -t): the extension, an endpoint, and an ingest-only LOGIN
#    role that the server connects as (password auth over 127.0.0.1)
#  - the server on a free loopback port, then test/express/webhook.test.mjs with `node --test`
# The server is killed on every way out (trap).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

if [ "${1:-}" != "--inside-virtualenv" ]; then
  (cd examples/express && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
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

# Inside pg_virtualenv: PGHOST/PGPORT/PGUSER(postgres)/PGPASSWORD/PGDATABASE point at the cluster.
echo started >"${PGS_STARTED:-/dev/null}"
WORK=$(mktemp -d -t pg_stripe-express.XXXXXX)
SERVER_PID=
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ] && [ -f "$WORK/server.log" ]; then
    echo "--- server log (last 40 lines)"; tail -40 "$WORK/server.log"
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

APP_PASSWORD=$(node -e "process.stdout.write(require('crypto').randomBytes(18).toString('hex'))")
WHSEC="whsec_$(node -e "process.stdout.write(require('crypto').randomBytes(24).toString('base64url'))")"
psql -X -q -v ON_ERROR_STOP=1 -v app_password="$APP_PASSWORD" -v whsec="$WHSEC" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_stripe;
CREATE ROLE express_webhook LOGIN PASSWORD :'app_password';
GRANT stripe_ingest TO express_webhook;
\o /dev/null
SELECT stripe.create_endpoint('default', :'whsec');
SQL

# The server connects as the ingest-only role, over TCP with a password (DATABASE_URL path).
# start_server [VAR=value ...]: starts it with these extra settings, sets SERVER_PID and PORT.
start_server() {
  : >"$WORK/server.log"
  env DATABASE_URL="postgres://express_webhook:${APP_PASSWORD}@127.0.0.1:${PGPORT}/${PGDATABASE}" \
    HOST=127.0.0.1 PORT=0 STRIPE_ENDPOINT=default PGPOOL_MAX=4 PGSTATEMENT_TIMEOUT_MS=1500 "$@" \
    node examples/express/server.js >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 100); do
    PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$WORK/server.log")
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited"; exit 1; }
    sleep 0.1
  done
  [ -n "$PORT" ] || { echo "server did not start listening"; exit 1; }
  echo "server pid $SERVER_PID on 127.0.0.1:$PORT${*:+ ($*)}"
}

start_server
WEBHOOK_BASE="http://127.0.0.1:$PORT" WHSEC="$WHSEC" SERVER_LOG="$WORK/server.log" \
  node --test test/express/webhook.test.mjs

# The same server with batching on (PGBATCH_MAX), against the same database.
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
start_server PGBATCH_MAX=50
grep -q 'up to 50 deliveries per transaction' "$WORK/server.log" || { echo "server did not report batching"; exit 1; }
WEBHOOK_BASE="http://127.0.0.1:$PORT" WHSEC="$WHSEC" SERVER_LOG="$WORK/server.log" \
  node --test test/express/batch.test.mjs
