#!/usr/bin/env bash
# stripe-node conformance: pg_stripe's verify_signature/construct_event against stripe-node 23.x
# (see conformance.test.js). Part of test/run.sh, which runs it inside pg_virtualenv with the
# extension installed:   pg_virtualenv ./test/conformance/run.sh
# Needs PG* variables for a superuser connection, node >= 18 and npm (the npm registry once, for
# `npm ci` of the pinned stripe package; node_modules/ is not committed).
set -euo pipefail
cd "$(dirname "$0")"

want=$(node -p "require('./package.json').devDependencies.stripe")
have=$(node -p "try { require('./node_modules/stripe/package.json').version } catch { '' }")
if [ "$have" != "$want" ]; then
  echo "conformance: installing stripe@$want (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# A database of our own: UTF-8 whatever the cluster's default, so text payloads are UTF-8.
DB=${CONFORMANCE_DB:-pg_stripe_conformance}
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
  -c "DROP DATABASE IF EXISTS $DB" \
  -c "CREATE DATABASE $DB ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION pg_stripe"

status=0
PGDATABASE=$DB node --test --test-reporter=spec conformance.test.js || status=$?
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" || true
exit $status
