#!/usr/bin/env bash
# Reliability suite of pg_stripe (run by test/run.sh, or alone: ./test/reliability/run.sh).
# Needs the extension built and installed (`make && make install`), root (clusters are started as
# the `postgres` user in a temporary directory, Unix sockets only) and node.
#
# Named checks (REL_CHECKS selects some, e.g. REL_CHECKS="load crash"); each prints what it did
# (counts, durations, what was killed); the last line is "N passed, M failed".
#   load     8 sessions ingest a shuffled stream with duplicates (20% signed stripe.ingest): no
#            client error, every event accepted once, final object tables, log and views == a
#            serial in-order ingest into a second database, == stripe.rebuild() of a copy, and
#            == a batched backfill from a staging table
#   crash    kill -9 of the postmaster, of an ingesting backend, `pg_ctl stop -m immediate`, each
#            while 8 sessions ingest: every event a client got accepted/duplicate for is logged
#            and applied, state == stripe.rebuild() in a copy; re-delivering everything
#            converges to the serial reference
#   fuzz     thousands of mutated events through stripe.ingest_event (text, jsonb) and the signed
#            stripe.ingest (bytea), one subtransaction each: same postmaster, no crash in the log,
#            only SQLSTATE classes ST, 22, 54, failures change no stored row
#   secrets  pg_stat_statements (track=all) + log_min_error_statement=error: endpoint secrets of
#            successful and failing calls never in the server log, pg_stat_statements,
#            rejected_deliveries, endpoint_status or the caller's error; unreadable to roles
#   upgrade  for every version A with an update path (upgrade/ ships the first release's install
#            script and the pg_stripe--A--B.sql chain): CREATE EXTENSION VERSION A, ALTER EXTENSION
#            UPDATE, catalog == fresh install; with none, the fresh install's self-consistency.
#            With data: every such A is built from its tag vA in this clone, ingests the first
#            half of the stream, then the installed build updates it (catalog == fresh install)
#            and ingests the rest: state == the serial reference

#   backup   pg_dump -Fc / pg_restore keeps endpoints, the log, rejected deliveries and all derived
#            state; signed ingest with the restored secrets works after the restore
#   replica  a pg_basebackup -R standby serves every view, customer_rfm(), report() and
#            dashboard_html() while the primary ingests, and catches up to the same figures
#   ties     events of one object with equal `created`, ingested concurrently: live state ==
#            stripe.rebuild() (SPEC §2 "later-arriving wins" must mean the same to both)
#
# Sizes (the defaults take ~4 minutes on 2 cores):
#   REL_CUSTOMERS=1600 REL_MONTHS=6 REL_SEED=7   stream from tools/shopgen.mjs (>= REL_MIN_EVENTS
#                                                distinct events, default 20000), every event
#                                                delivered 1-3 times, shuffled in 600 s windows
#   REL_SESSIONS=8 REL_SIGNED_PCT=20             concurrent sessions, share through stripe.ingest
#   REL_CRASH_CYCLES=3 REL_FUZZ_CASES=4000 REL_TIE_OBJECTS=5000
#   REL_GENERATOR=path/to/shopgen.mjs REL_FSYNC=on REL_KEEP=1 (keep the clusters, logs, streams)
# A larger run (~110k events, 170k deliveries):
#   REL_CUSTOMERS=8000 REL_MIN_EVENTS=100000 REL_CRASH_CYCLES=6 REL_FUZZ_CASES=20000 \
#   REL_TIE_OBJECTS=20000 ./test/reliability/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/test/reliability
T_START=$SECONDS

CUSTOMERS=${REL_CUSTOMERS:-1600}
MONTHS=${REL_MONTHS:-6}
SEED=${REL_SEED:-7}
MIN_EVENTS=${REL_MIN_EVENTS:-20000}
SESSIONS=${REL_SESSIONS:-8}
SIGNED_PCT=${REL_SIGNED_PCT:-20}
CRASH_CYCLES=${REL_CRASH_CYCLES:-3}
FUZZ_CASES=${REL_FUZZ_CASES:-4000}
CHECKS=${REL_CHECKS:-load crash fuzz secrets upgrade backup replica ties}
GENERATOR=${REL_GENERATOR:-$ROOT/tools/shopgen.mjs}

WORK=$(mktemp -d /tmp/pg_stripe-reliability.XXXXXX)
chmod 755 "$WORK"
source "$HERE/lib.sh"

cleanup() {
  local c
  for c in "${!CL_DIR[@]}"; do cluster_stop "$c" immediate; done
  if [ "${REL_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0; failed=0; failures=()
check() {  # check NAME FUNCTION
  local name=$1 t0=$SECONDS
  echo "--- check $name"
  if "$2"; then passed=$((passed + 1)); echo "--- check $name: ok ($((SECONDS - t0)) s)"
  else failed=$((failed + 1)); failures+=("$name"); echo "--- check $name: FAILED ($((SECONDS - t0)) s)"; fi
}
finish() {
  echo
  [ ${#failures[@]} -gt 0 ] && echo "failed checks: ${failures[*]}"
  echo "reliability: total $((SECONDS - T_START)) s"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}
selected() { [[ " $CHECKS " == *" $1 "* ]]; }
rand_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

#############################################################################################
# Setup: the stream, the main cluster and the reference (serial, in-order) database.
#############################################################################################
setup() {
  echo "--- setup"
  if [ ! -f "$GENERATOR" ]; then echo "generator $GENERATOR not found"; return 1; fi
  if [ ! -f "$(pg_config --sharedir)/extension/pg_stripe.control" ]; then
    echo "pg_stripe is not installed (make && make install)"; return 1
  fi
  local t0=$SECONDS
  node "$GENERATOR" --customers "$CUSTOMERS" --months "$MONTHS" --seed "$SEED" --dup-max 3 \
    --shuffle-window-sec 600 --out "$WORK/stream" 2>&1 | tail -1 | sed 's/^/    /' || return 1
  STREAM=$WORK/stream/events.jsonl
  INORDER=$WORK/stream/events_inorder.jsonl
  N_EVENTS=$(wc -l <"$INORDER"); N_DELIVERIES=$(wc -l <"$STREAM")
  echo "    stream: $N_EVENTS distinct events, $N_DELIVERIES deliveries ($((SECONDS - t0)) s)"
  node -e '
    const fs = require("fs"); const copies = new Map(); let late = 0, max = 0;
    for (const l of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
      if (!l) continue;
      const e = JSON.parse(l); copies.set(e.id, (copies.get(e.id) || 0) + 1);
      if (e.created < max) late++; else max = e.created;
    }
    const d = {}; for (const c of copies.values()) d[c] = (d[c] || 0) + 1;
    console.log(`    deliveries per event: ${Object.entries(d).map(([k, v]) => `${k}x=${v}`).join(" ")};` +
                ` ${late} deliveries arrive after a later-created event`);' "$STREAM"
  if [ "$N_EVENTS" -lt "$MIN_EVENTS" ]; then
    echo "    fewer than $MIN_EVENTS events: raise REL_CUSTOMERS"; return 1
  fi
  cluster_new main "shared_preload_libraries = 'pg_stat_statements'" "deadlock_timeout = '200ms'" \
    "log_lock_waits = on" || return 1
  new_db main ref pg_stripe || return 1
  node "$HERE/sessions.mjs" --in "$INORDER" --sessions 1 --out "$WORK/serial" >/dev/null || return 1
  t0=$SECONDS
  # One session, in created order, one event per transaction.
  ingest_script main ref "$WORK/serial/s00.sql" >"$WORK/serial.summary" || return 1
  echo "    reference: serial in-order ingest into database ref, one transaction per event: $(cat "$WORK/serial.summary")($((SECONDS - t0)) s)"
  grep -q "accepted=$N_EVENTS " "$WORK/serial.summary" || { echo "    the reference did not accept every event"; return 1; }
  fingerprint main ref >"$WORK/ref.fp" || return 1
  REF_SCHEMA=$(schema_md5 main ref)
  echo "    reference fingerprint: $(wc -l <"$WORK/ref.fp") relations, $(awk '$1=="charges"{print $2}' "$WORK/ref.fp") charges," \
       "$(awk '$1=="refunds"{print $2}' "$WORK/ref.fp") refunds, $(awk '$1=="customers"{print $2}' "$WORK/ref.fp") customers"
  echo "--- setup: ok ($((SECONDS - T_START)) s)"
}

#############################################################################################
# 1. load
#############################################################################################
# backfill_check DB LABEL HOW SQL: the in-order stream copied into a staging table of a new
# database, ingested by SQL; the state must equal the serial reference's. Prints one line each.
backfill_check() {
  local db=$1 label=$2 how=$3 sql=$4 t0=$SECONDS ok=0
  new_db main "$db" pg_stripe || return 1
  if q main "$db" -c "CREATE TABLE staging (n bigserial, body text)" \
       -c "\\copy staging (body) FROM '$INORDER' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')" \
       -c "$sql" >"$WORK/$db.out" 2>"$WORK/$db.err"; then
    echo "    backfill of $N_EVENTS events from a staging table, $how, in $((SECONDS - t0)) s:" \
         "$(q main "$db" -c "SELECT count(*) FROM stripe.events") events logged"
    fingerprint main "$db" >"$WORK/$db.fp" || return 1
    compare_fp "$label" "$WORK/$db.fp" "serial in-order" "$WORK/ref.fp" >"$WORK/$db.cmp" || ok=1
    sed 's/: [0-9]* relations equal (.*/: equal/' "$WORK/$db.cmp"
  else
    ok=1; echo "    $label failed: $(grep -E 'ERROR|HINT' "$WORK/$db.err" | head -2 | paste -sd' ' -)"
  fi
  q main postgres -c "DROP DATABASE $db"
  return $ok
}

check_load() {
  local ok=0 t0 secret=whsec_$(rand_hex 24)
  new_db main conc pg_stripe || return 1
  schema_check main conc
  q main conc -c "SELECT stripe.create_endpoint('rel', '$secret', 86400)" >/dev/null || return 1
  echo "$secret" >"$WORK/conc.secret"
  node "$HERE/sessions.mjs" --in "$STREAM" --sessions "$SESSIONS" --signed-pct "$SIGNED_PCT" \
    --endpoint rel --secret "$secret" --out "$WORK/load" | sed 's/^/    /'
  t0=$SECONDS
  deliver_start main conc "$WORK/load" "$WORK/load/run"
  deliver_wait
  local dur=$((SECONDS - t0))
  local summary; summary=$(summarize_delivery "$WORK/load/run")
  echo "    $SESSIONS sessions, $N_DELIVERIES deliveries in $dur s: $summary"
  local acc dup rej errs
  acc=$(cat "$WORK"/load/run.*.out | awk '$2=="accepted"' | wc -l)
  dup=$(cat "$WORK"/load/run.*.out | awk '$2=="duplicate"' | wc -l)
  rej=$(cat "$WORK"/load/run.*.out | awk '$2=="rejected"' | wc -l)
  errs=$(wc -l <"$WORK/load/run.errors")
  if [ "$errs" -gt 0 ]; then
    ok=1; echo "    client errors by message:"; sort "$WORK/load/run.errors" | uniq -c | sort -rn | head -20 | sed 's/^/      /'
    echo "    server log around them:"
    grep -E 'ERROR|DETAIL|deadlock|Process [0-9]+' "${CL_DIR[main]}/log" | head -40 | sed 's/^/      /'
  fi
  [ "$acc" -eq "$N_EVENTS" ] || { ok=1; echo "    accepted $acc != $N_EVENTS distinct events"; }
  [ "$dup" -eq $((N_DELIVERIES - N_EVENTS)) ] || { ok=1; echo "    duplicate $dup != $((N_DELIVERIES - N_EVENTS))"; }
  [ "$rej" -eq 0 ] || { ok=1; echo "    $rej deliveries rejected:"; q main conc -c "SELECT reason, count(*) FROM stripe.rejected_deliveries GROUP BY 1" | sed 's/^/      /'; }
  # Each distinct id accepted exactly once.
  local multi; multi=$(cat "$WORK"/load/run.*.out | awk '$2=="accepted"{print $3}' | sort | uniq -d | wc -l)
  [ "$multi" -eq 0 ] || { ok=1; echo "    $multi event ids accepted more than once"; }
  fingerprint main conc >"$WORK/conc.fp" || return 1
  compare_fp "concurrent" "$WORK/conc.fp" "serial in-order" "$WORK/ref.fp" || ok=1
  # The incremental state is the log's pure function: rebuild in a copy.
  rebuild_compare main conc "concurrent" || ok=1
  # A backfill from a staging table, as the README advises: batches of 2,000 events per
  # transaction.
  backfill_check backfill "batched backfill" "2,000 per transaction" \
    "DO \$\$ DECLARE lo bigint := 1; hi bigint := (SELECT max(n) FROM staging); BEGIN
       WHILE lo <= hi LOOP
         PERFORM stripe.ingest_event(body) FROM staging WHERE n BETWEEN lo AND lo + 1999 ORDER BY n;
         COMMIT; lo := lo + 2000;
       END LOOP; END \$\$" || ok=1
  # The whole stream in one statement (one transaction): past 1,000 object and customer locks
  # the transaction switches to the exclusive ingest lock instead of filling the lock table.
  backfill_check backfill1 "one-statement backfill" "in one statement" \
    "SELECT count(stripe.ingest_event(body)) FROM (SELECT body FROM staging ORDER BY n) s" || ok=1
  local dl; dl=$(grep -c 'deadlock detected' "${CL_DIR[main]}/log")
  local lw; lw=$(grep -c 'still waiting for' "${CL_DIR[main]}/log")
  echo "    server log: $dl deadlocks, $lw lock waits longer than deadlock_timeout (200 ms)"
  [ "$dl" -eq 0 ] || ok=1
  return $ok
}

#############################################################################################
# 2. crash
#############################################################################################
# Client-side errors a crash legitimately causes: the connection goes away.
CRASH_OK_ERRORS='57P01|57P02|57P03|08006|08003|08001|server closed the connection|connection to server was lost|could not connect|no connection to the server|terminating connection'

# verify_acknowledged CLUSTER DB IDS_FILE: events acknowledged to a client must be in the log and
# applied: the object they carry has a row at least as new as the event.
verify_acknowledged() {
  local c=$1 db=$2 ids=$3 k t unapplied=""
  for k in charge:charges payment_intent:payment_intents refund:refunds dispute:disputes customer:customers \
           checkout.session:checkout_sessions subscription:subscriptions invoice:invoices; do
    t=${k#*:}; k=${k%%:*}
    unapplied+=" + (SELECT count(*) FROM ack_ev e WHERE e.object_type = '$k' AND NOT EXISTS
                    (SELECT 1 FROM stripe.$t o WHERE o.id = e.object_id AND o.event_created >= e.created))"
  done
  q "$c" "$db" <<SQL
CREATE TEMP TABLE ack (id text);
\copy ack FROM '$ids'
CREATE TEMP TABLE ack_ev AS SELECT e.* FROM stripe.events e WHERE e.id IN (SELECT id FROM ack);
SELECT (SELECT count(DISTINCT id) FROM ack) || ' ' ||
       (SELECT count(DISTINCT a.id) FROM ack a WHERE NOT EXISTS (SELECT 1 FROM stripe.events e WHERE e.id = a.id)) || ' ' ||
       (0 $unapplied);
SQL
}

check_crash() {
  local ok=0 secret=whsec_$(rand_hex 24) cycle method t0 target n
  cluster_new crash || return 1
  new_db crash crash pg_stripe || return 1
  schema_check crash crash
  q crash crash -c "SELECT stripe.create_endpoint('rel', '$secret', 86400)" >/dev/null || return 1
  local methods=("kill -9 postmaster" "kill -9 one ingesting backend" "pg_ctl stop -m immediate")
  target=$((N_DELIVERIES / (CRASH_CYCLES + 1)))
  for ((cycle = 1; cycle <= CRASH_CYCLES; cycle++)); do
    method=${methods[$(((cycle - 1) % 3))]}
    local dir=$WORK/crash/c$cycle
    node "$HERE/sessions.mjs" --in "$STREAM" --sessions "$SESSIONS" --signed-pct "$SIGNED_PCT" --endpoint rel \
      --secret "$secret" --rotate $(((cycle - 1) * N_DELIVERIES / CRASH_CYCLES)) --out "$dir" >/dev/null || return 1
    local before; before=$(q crash crash -c "SELECT count(*) FROM stripe.events")
    t0=$SECONDS
    deliver_start crash crash "$dir" "$dir/run"
    # Let the sessions acknowledge about `target` deliveries, then crash.
    while :; do
      n=$(cat "$dir"/run.*.out 2>/dev/null | wc -l)
      [ "$n" -ge "$target" ] && break
      [ $((SECONDS - t0)) -gt 300 ] && { echo "    cycle $cycle: no progress"; deliver_wait; return 1; }
      sleep 0.1
    done
    local pm; pm=$(postmaster_pid crash)
    case $method in
      "kill -9 postmaster") kill -9 "$pm" ;;
      "kill -9 one ingesting backend")
        local bp; bp=$(q crash postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = 'crash' AND state = 'active' AND query LIKE '%stripe.ingest%' ORDER BY random() LIMIT 1")
        [ -n "$bp" ] || bp=$(q crash postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = 'crash' AND backend_type = 'client backend' AND pid <> pg_backend_pid() LIMIT 1")
        method="kill -9 ingesting backend $bp"
        kill -9 "$bp" ;;
      "pg_ctl stop -m immediate") as_pg "$PGBIN/pg_ctl" -D "${CL_DIR[crash]}/data" -m immediate -w stop >/dev/null ;;
    esac
    local ran=$((SECONDS - t0))
    deliver_wait
    # Restart (after kill -9 of the postmaster its orphaned backends must go first; after a
    # backend's death the postmaster reinitializes by itself).
    local r0=$SECONDS
    if [[ $method == "kill -9 ingesting backend"* ]]; then
      wait_ready crash 120 || { echo "    server did not come back"; return 1; }
    else
      local tries=0
      until cluster_start crash 2>/dev/null; do
        tries=$((tries + 1)); [ $tries -gt 60 ] && { echo "    restart failed"; tail "${CL_DIR[crash]}/log"; return 1; }
        sleep 1
      done
      wait_ready crash 60 || return 1
    fi
    local rec=$((SECONDS - r0))
    cat "$dir"/run.*.out | awk '$2=="accepted" || $2=="duplicate" {print $3}' >"$dir/ack.ids"
    local acc; acc=$(cat "$dir"/run.*.out | awk '$2=="accepted"' | wc -l)
    local dup; dup=$(cat "$dir"/run.*.out | awk '$2=="duplicate"' | wc -l)
    cat "$dir"/run.*.err | grep -E 'ERROR|FATAL|PANIC|WARNING|server closed|connection' | sed -E 's/^psql:[^:]*:[0-9]+: //' >"$dir/errors"
    local cerr; cerr=$(wc -l <"$dir/errors")
    local bad; bad=$(grep -Ev "$CRASH_OK_ERRORS" "$dir/errors" | wc -l)
    local res; res=$(verify_acknowledged crash crash "$dir/ack.ids") || return 1
    local nack missing unapplied; read -r nack missing unapplied <<<"$res"
    local after; after=$(q crash crash -c "SELECT count(*) FROM stripe.events")
    echo "    cycle $cycle: $method after $ran s of ingest; clients got acknowledged=$((acc + dup)) (accepted=$acc duplicate=$dup)," \
         "client errors=$cerr (unexpected: $bad); restart+recovery $rec s; log $before -> $after events;" \
         "acknowledged ids missing from the log: $missing of $nack; acknowledged but not applied: $unapplied"
    [ "$bad" -eq 0 ] || { ok=1; grep -Ev "$CRASH_OK_ERRORS" "$dir/errors" | sort | uniq -c | head | sed 's/^/      /'; }
    [ "$missing" -eq 0 ] && [ "$unapplied" -eq 0 ] || ok=1
    [ "$((after - before))" -ge "$acc" ] || { ok=1; echo "    log grew by $((after - before)) < $acc accepted"; }
    # Nothing half-applied: the state equals a rebuild of the log, in a copy.
    rebuild_compare crash crash "  state after recovery" || ok=1
  done
  echo "    server log: $(grep -c 'database system was not properly shut down\|terminating any other active server processes\|all server processes terminated; reinitializing' "${CL_DIR[crash]}/log") crash/recovery notices," \
       "$(grep -c 'redo done at' "${CL_DIR[crash]}/log") redo passes: $(grep -o 'redo done at.*' "${CL_DIR[crash]}/log" | sed -E 's/.*elapsed: ([0-9.]+ s).*/\1/' | tr '\n' ' ')"
  # Re-deliver everything: converges to the state of a clean run.
  local dir=$WORK/crash/final
  node "$HERE/sessions.mjs" --in "$STREAM" --sessions "$SESSIONS" --signed-pct "$SIGNED_PCT" --endpoint rel \
    --secret "$secret" --out "$dir" >/dev/null || return 1
  t0=$SECONDS
  deliver_start crash crash "$dir" "$dir/run"; deliver_wait
  echo "    re-delivery of all $N_DELIVERIES deliveries in $((SECONDS - t0)) s: $(summarize_delivery "$dir/run")"
  [ "$(wc -l <"$dir/run.errors")" -eq 0 ] || { ok=1; sort "$dir/run.errors" | uniq -c | head | sed 's/^/      /'; }
  fingerprint crash crash >"$dir/final.fp" || return 1
  compare_fp "after crashes + re-delivery" "$dir/final.fp" "clean serial run" "$WORK/ref.fp" || ok=1
  local crashes; crashes=$(log_crash_lines crash | grep -v 'terminated by signal 9' | wc -l)
  [ "$crashes" -eq 0 ] || { ok=1; echo "    unexpected crash lines in the log:"; log_crash_lines crash | head | sed 's/^/      /'; }
  cluster_stop crash
  return $ok
}

#############################################################################################
# 3. fuzz
#############################################################################################
FUZZ_SQL=$(cat <<'SQL'
CREATE SCHEMA fz;
CREATE TABLE fz.cases (n int PRIMARY KEY, mutation text NOT NULL, b64 text NOT NULL, sig text NOT NULL);
CREATE TABLE fz.results (n int NOT NULL, path text NOT NULL, outcome text NOT NULL, sqlstate text, message text);
-- One case: its body as text through stripe.ingest_event(text), as jsonb through
-- stripe.ingest_event(jsonb), as raw bytes through the signed stripe.ingest(bytea); each call
-- in its own subtransaction (an EXCEPTION block), every outcome recorded.
CREATE PROCEDURE fz.run(lo int, hi int) LANGUAGE plpgsql AS $$
DECLARE
  c record; body bytea; t text; j jsonb; r stripe.ingest_result; st text; msg text;
BEGIN
  FOR c IN SELECT * FROM fz.cases WHERE n BETWEEN lo AND hi ORDER BY n LOOP
    body := decode(c.b64, 'base64');
    t := NULL; j := NULL;
    BEGIN
      t := convert_from(body, 'UTF8');
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
      INSERT INTO fz.results VALUES (c.n, 'cast to text', 'error', st, left(msg, 200));
    END;
    IF t IS NOT NULL THEN
      BEGIN
        r := stripe.ingest_event(t);
        INSERT INTO fz.results VALUES (c.n, 'ingest_event(text)', r.status, NULL, r.event_id);
      EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fz.results VALUES (c.n, 'ingest_event(text)', 'error', st, left(msg, 200));
      END;
      BEGIN
        j := t::jsonb;
      EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fz.results VALUES (c.n, 'cast to jsonb', 'error', st, left(msg, 200));
      END;
    END IF;
    IF j IS NOT NULL THEN
      BEGIN
        r := stripe.ingest_event(j);
        INSERT INTO fz.results VALUES (c.n, 'ingest_event(jsonb)', r.status, NULL, r.event_id);
      EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fz.results VALUES (c.n, 'ingest_event(jsonb)', 'error', st, left(msg, 200));
      END;
    END IF;
    BEGIN
      r := stripe.ingest(body, c.sig, 'fz');
      INSERT INTO fz.results VALUES (c.n, 'ingest(bytea) signed', r.status, r.sqlstate, coalesce(r.reason, r.event_id));
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
      INSERT INTO fz.results VALUES (c.n, 'ingest(bytea) signed', 'error', st, left(msg, 200));
    END;
  END LOOP;
END $$;
SQL
)

check_fuzz() {
  local ok=0 secret=whsec_$(rand_hex 24) t0
  cluster_new fuzz || return 1
  new_db fuzz fuzz pg_stripe || return 1
  q fuzz fuzz -c "SELECT stripe.create_endpoint('fz', '$secret', 86400)" >/dev/null || return 1
  # A base state of real objects for the mutants to collide with.
  head -3000 "$INORDER" >"$WORK/fuzz-base.jsonl"
  node "$HERE/sessions.mjs" --in "$WORK/fuzz-base.jsonl" --sessions 1 --out "$WORK/fuzz-base" >/dev/null || return 1
  q fuzz fuzz -1 -f "$WORK/fuzz-base/s00.sql" >/dev/null || return 1
  node "$HERE/fuzz.mjs" --fixtures "$ROOT/test/fixtures/stripe_objects.json" --stream "$INORDER" --cases "$FUZZ_CASES" \
    --seed "$SEED" --secret "$secret" --out "$WORK/fuzz-cases.tsv" | sed 's/^/    /' || return 1
  q fuzz fuzz -c "$FUZZ_SQL" -c "\\copy fz.cases FROM '$WORK/fuzz-cases.tsv'" || return 1
  local start0 events0 rej0
  start0=$(q fuzz fuzz -c "SELECT pg_postmaster_start_time()")
  events0=$(q fuzz fuzz -c "SELECT count(*) FROM stripe.events")
  rej0=$(q fuzz fuzz -c "SELECT count(*) FROM stripe.rejected_deliveries")
  t0=$SECONDS
  local lo batch=250 crashed=0
  for ((lo = 1; lo <= FUZZ_CASES; lo += batch)); do
    if ! q fuzz fuzz -c "CALL fz.run($lo, $((lo + batch - 1)))" 2>"$WORK/fuzz-batch.err"; then
      crashed=1; ok=1
      echo "    batch $lo..$((lo + batch - 1)) failed: $(head -3 "$WORK/fuzz-batch.err")"
      wait_ready fuzz 60
      # Find the case: one per transaction.
      local n
      for ((n = lo; n < lo + batch && n <= FUZZ_CASES; n++)); do
        q fuzz fuzz -c "CALL fz.run($n, $n)" >/dev/null 2>&1 || {
          echo "      case $n ($(q fuzz fuzz -c "SELECT mutation FROM fz.cases WHERE n = $n" 2>/dev/null)) fails the session"; wait_ready fuzz 60; }
      done
    fi
  done
  local dur=$((SECONDS - t0))
  echo "    $FUZZ_CASES cases, $(q fuzz fuzz -c "SELECT count(*) FROM fz.results WHERE path NOT LIKE 'cast%'") calls in $dur s; outcomes per path:"
  q fuzz fuzz -F ' ' -c "SELECT path, string_agg(outcome || coalesce(' ' || sqlstate, '') || '=' || k, ', ' ORDER BY k DESC)
                           FROM (SELECT path, outcome, sqlstate, count(*) k FROM fz.results GROUP BY 1, 2, 3) x GROUP BY path ORDER BY path" \
    | sed 's/^/      /'
  echo "    SQLSTATEs raised by pg_stripe's functions (count, first message):"
  q fuzz fuzz -F ' | ' -c "SELECT sqlstate, count(*), min(message) FROM fz.results
                             WHERE outcome = 'error' AND path NOT LIKE 'cast%' GROUP BY 1 ORDER BY 1" | sed 's/^/      /'
  local badstates; badstates=$(q fuzz fuzz -c "SELECT string_agg(DISTINCT sqlstate, ' ') FROM fz.results
                                   WHERE outcome = 'error' AND path NOT LIKE 'cast%' AND sqlstate !~ '^(ST|22|54)'")
  if [ -n "$badstates" ]; then
    ok=1; echo "    SQLSTATEs outside classes ST, 22, 54: $badstates"
    q fuzz fuzz -F ' | ' -c "SELECT r.n, c.mutation, r.path, r.sqlstate, r.message FROM fz.results r JOIN fz.cases c USING (n)
                              WHERE r.outcome = 'error' AND r.path NOT LIKE 'cast%' AND r.sqlstate !~ '^(ST|22|54)' LIMIT 10" | sed 's/^/      /'
  fi
  # stripe.ingest answers validation failures with `rejected` (recorded, the receiver says 400);
  # raising is for faults only.
  local signed_raised; signed_raised=$(q fuzz fuzz -c "SELECT coalesce(string_agg(sqlstate || '=' || k, ' '), '') FROM (SELECT sqlstate, count(*) k FROM fz.results
                                         WHERE path LIKE 'ingest(bytea)%' AND outcome = 'error' GROUP BY 1 ORDER BY 1) x")
  echo "    signed stripe.ingest raised instead of answering: ${signed_raised:-never}"
  if q fuzz fuzz -c "SELECT 1 FROM fz.results WHERE path LIKE 'ingest(bytea)%' AND outcome = 'error' AND sqlstate LIKE 'ST%'" | grep -q 1; then
    ok=1; echo "    a pg_stripe validation class (ST...) was raised by stripe.ingest instead of returned as rejected"
  fi
  echo "    rejected deliveries by reason (signed path): $(q fuzz fuzz -c "SELECT string_agg(reason || '=' || k, ' ' ORDER BY k DESC) FROM (SELECT reason, count(*) k FROM stripe.rejected_deliveries GROUP BY 1) x")"
  # The server stayed up.
  local start1; start1=$(q fuzz fuzz -c "SELECT pg_postmaster_start_time()")
  local crashes; crashes=$(log_crash_lines fuzz | wc -l)
  echo "    postmaster start time before/after: $start0 / $start1; crash lines in the server log: $crashes"
  [ "$start0" = "$start1" ] && [ "$crashes" -eq 0 ] && [ $crashed -eq 0 ] || { ok=1; log_crash_lines fuzz | head | sed 's/^/      /'; }
  # Failures changed nothing: the log grew by exactly the accepted events, rejected_deliveries
  # by the rejected ones, the state is the log's pure function, and running every failing case
  # again leaves every stored row as it was.
  local acc rej events1 rej1
  acc=$(q fuzz fuzz -c "SELECT count(*) FROM fz.results WHERE outcome = 'accepted'")
  rej=$(q fuzz fuzz -c "SELECT count(*) FROM fz.results WHERE outcome = 'rejected'")
  events1=$(q fuzz fuzz -c "SELECT count(*) FROM stripe.events")
  rej1=$(q fuzz fuzz -c "SELECT count(*) FROM stripe.rejected_deliveries")
  echo "    event log $events0 -> $events1 (+$((events1 - events0)), accepted mutants: $acc); rejected_deliveries +$((rej1 - rej0)) (rejected: $rej)"
  [ $((events1 - events0)) -eq "$acc" ] && [ $((rej1 - rej0)) -eq "$rej" ] || ok=1
  rebuild_compare fuzz fuzz "fuzzed state" || ok=1
  fingerprint fuzz fuzz >"$WORK/fuzz.fp" || return 1
  local failing; failing=$(q fuzz fuzz -c "SELECT count(*) FROM (SELECT n FROM fz.results GROUP BY n HAVING bool_and(outcome <> 'accepted')) x")
  q fuzz fuzz -c "DO \$\$ DECLARE x int; BEGIN FOR x IN SELECT n FROM fz.results GROUP BY n HAVING bool_and(outcome <> 'accepted') ORDER BY n LOOP CALL fz.run(x, x); END LOOP; END \$\$" || ok=1
  fingerprint fuzz fuzz >"$WORK/fuzz2.fp" || return 1
  compare_fp "state" "$WORK/fuzz.fp" "state after re-running the $failing never-accepted cases" "$WORK/fuzz2.fp" >"$WORK/fuzz2.cmp" || ok=1
  sed 's/: [0-9]* relations equal (.*/: equal/' "$WORK/fuzz2.cmp"
  cluster_stop fuzz
  return $ok
}

#############################################################################################
# 4. secrets
#############################################################################################
check_secrets() {
  local ok=0
  cluster_new secrets "shared_preload_libraries = 'pg_stat_statements'" "pg_stat_statements.track = 'all'" \
    "pg_stat_statements.track_utility = on" "log_statement = 'none'" "log_min_error_statement = 'error'" \
    "log_min_messages = 'warning'" "log_error_verbosity = 'verbose'" "log_lock_waits = on" "deadlock_timeout = '100ms'" || return 1
  new_db secrets sec pg_stat_statements pg_stripe || return 1
  q secrets sec -c "CREATE ROLE rel_reader LOGIN IN ROLE stripe_reader; CREATE ROLE rel_ingest LOGIN IN ROLE stripe_ingest" >/dev/null 2>&1
  # One distinctive secret per call; the needle searched for is the secret's random part.
  declare -A S CAT
  local i
  for i in $(seq 1 30); do S[$i]=whsec_$(rand_hex 20); done
  local body='{"id":"evt_sec_1","object":"event","type":"customer.created","created":1767225600,"livemode":false,"data":{"object":{"id":"cus_sec","object":"customer","created":1767225600}}}'
  local now; now=$(date +%s)
  sig() { printf 't=%s,v1=%s' "$2" "$(printf '%s.%s' "$2" "$body" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1)"; }
  local calls=(
    # category|label|sql   (ext: the extension must keep the secret out; user: outside its control)
    "ext|create endpoint e1|SELECT stripe.create_endpoint('e1', '${S[1]}')"
    "ext|create endpoint e2 (tolerance 600)|SELECT stripe.create_endpoint('e2', '${S[2]}', 600)"
    "ext|rotate e1|SELECT stripe.rotate_endpoint_secret('e1', '${S[3]}')"
    "ext|duplicate endpoint e1|SELECT stripe.create_endpoint('e1', '${S[4]}')"
    "ext|secret with surrounding whitespace|SELECT stripe.create_endpoint('e3', E' ${S[5]}\\n')"
    "ext|secret with inner space|SELECT stripe.create_endpoint('e3', '${S[6]:0:20} ${S[6]:20}')"
    "ext|rotate to a whitespace secret|SELECT stripe.rotate_endpoint_secret('e2', '${S[7]} ')"
    "ext|rotate an unknown endpoint|SELECT stripe.rotate_endpoint_secret('nope', '${S[8]}')"
    "ext|create with NULL tolerance (constraint violation)|SELECT stripe.create_endpoint('e4', '${S[9]}', NULL)"
    "ext|create with empty name|SELECT stripe.create_endpoint('', '${S[10]}')"
    "ext|create with NULL name|SELECT stripe.create_endpoint(NULL, '${S[11]}')"
    "ext|duplicate inside one statement|SELECT stripe.create_endpoint(n, s) FROM (VALUES ('e5', '${S[12]}'), ('e5', '${S[13]}')) v(n, s)"
    "ext|duplicate inside a transaction|BEGIN; SELECT stripe.create_endpoint('e6', '${S[14]}'); SELECT stripe.create_endpoint('e6', '${S[15]}'); ROLLBACK"
    "ext|rotate with an overlap past the end of time (error inside the function)|SELECT stripe.rotate_endpoint_secret('e1', '${S[16]}', interval '400000 years')"
    "ext|signed ingest, current secret|SELECT status FROM stripe.ingest('$body', '$(sig "${S[3]}" "$now")', 'e1')"
    "ext|signed ingest, previous secret (overlap)|SELECT status FROM stripe.ingest('$body', '$(sig "${S[1]}" "$now")', 'e1')"
    "ext|signed ingest, another endpoint's secret|SELECT status FROM stripe.ingest('$body', '$(sig "${S[2]}" "$now")', 'e1')"
    "ext|signed ingest, secret never registered|SELECT status FROM stripe.ingest('$body', '$(sig "${S[17]}" "$now")', 'e2')"
    "ext|signed ingest, too old|SELECT status FROM stripe.ingest('$body', '$(sig "${S[3]}" $((now - 4000)))', 'e1')"
    "ext|signed ingest, unknown endpoint|SELECT status FROM stripe.ingest('$body', '$(sig "${S[3]}" "$now")', 'nope')"
    "ext|drop e2, drop unknown|SELECT stripe.drop_endpoint('e2'); SELECT stripe.drop_endpoint('nope')"
    "user|caller passes its secret as the signature header (stored as sig_header)|SELECT stripe.create_endpoint('e12', '${S[27]}'); SELECT status FROM stripe.ingest('$body', '${S[27]}', 'e12')"
    "user|a literal in the calling statement fails to parse|SELECT stripe.rotate_endpoint_secret('e1', '${S[28]}', interval '300000000 years')"
    "user|caller without EXECUTE (permission denied before the function runs)|SET ROLE rel_reader; SELECT stripe.create_endpoint('e8', '${S[18]}')"
    "user|syntax error in the calling statement|SELECT stripe.create_endpoint('e9', '${S[19]}'"
    "user|a later statement of the same query string fails|SELECT stripe.create_endpoint('e10', '${S[20]}'); SELECT 1/0"
  )
  local n=0 line cat label sql
  for line in "${calls[@]}"; do
    n=$((n + 1)); IFS='|' read -r cat label sql <<<"$line"
    qq secrets sec -c "$sql" >>"$WORK/secrets.client.out" 2>>"$WORK/secrets.client.err"
  done
  # Lock timeout and deadlock between two sessions creating endpoints.
  qq secrets sec -c "BEGIN; SELECT stripe.create_endpoint('e11', '${S[21]}'); SELECT pg_sleep(2); COMMIT" >/dev/null 2>&1 &
  local bg=$!; sleep 0.5
  qq secrets sec -c "SET lock_timeout = '500ms'; SELECT stripe.create_endpoint('e11', '${S[22]}')" >>"$WORK/secrets.client.out" 2>>"$WORK/secrets.client.err"
  wait $bg
  calls+=("ext|lock timeout waiting for a concurrent create of the same endpoint|${S[21]} ${S[22]}")
  qq secrets sec -c "BEGIN; SELECT stripe.create_endpoint('d1', '${S[23]}'); SELECT pg_sleep(0.5); SELECT stripe.create_endpoint('d2', '${S[24]}'); COMMIT" \
    >>"$WORK/secrets.client.out" 2>>"$WORK/secrets.client.err" &
  bg=$!
  qq secrets sec -c "BEGIN; SELECT stripe.create_endpoint('d2', '${S[25]}'); SELECT pg_sleep(0.5); SELECT stripe.create_endpoint('d1', '${S[26]}'); COMMIT" \
    >>"$WORK/secrets.client.out" 2>>"$WORK/secrets.client.err"
  wait $bg
  calls+=("user|deadlock between two transactions creating endpoints (the deadlock report lists both statements)|${S[23]} ${S[24]} ${S[25]} ${S[26]}")
  echo "    ${#calls[@]} calls: $(grep -c 'ERROR' "$WORK/secrets.client.err") failed with an error; endpoints now: $(q secrets sec -c "SELECT string_agg(name, ',' ORDER BY name) FROM stripe.endpoint_status")"
  echo "    errors the callers saw: $(grep -o 'ERROR:  .*' "$WORK/secrets.client.err" | cut -c9- | sed -E 's/"[^"]*"/"…"/g' | sort | uniq -c | awk '{c=$1; $1=""; printf "%s(x%d);", $0, c}')"
  # Where a secret could end up.
  q secrets sec -c "SELECT query FROM pg_stat_statements" >"$WORK/secrets.pgss"
  q secrets sec -c "SELECT r::text FROM stripe.rejected_deliveries r" >"$WORK/secrets.rejected"
  q secrets sec -c "SELECT e::text FROM stripe.endpoint_status e" >"$WORK/secrets.status"
  echo "    searched: server log ($(wc -l <"${CL_DIR[secrets]}/log") lines), pg_stat_statements ($(wc -l <"$WORK/secrets.pgss") query texts)," \
       "rejected_deliveries ($(wc -l <"$WORK/secrets.rejected") rows), endpoint_status, the callers' error messages"
  local ext_hits=0 user_notes=()
  for line in "${calls[@]}"; do
    IFS='|' read -r cat label sql <<<"$line"
    local where=() k needle
    for k in "${!S[@]}"; do
      [[ "$sql" == *"${S[$k]:6:12}"* ]] || continue
      needle=${S[$k]:6:12}
      grep -qF "$needle" "${CL_DIR[secrets]}/log" && where+=("server log")
      grep -qF "$needle" "$WORK/secrets.pgss" && where+=("pg_stat_statements")
      grep -qF "$needle" "$WORK/secrets.rejected" && where+=("rejected_deliveries")
      grep -qF "$needle" "$WORK/secrets.status" && where+=("endpoint_status")
      grep -qF "$needle" "$WORK/secrets.client.err" && where+=("error shown to the caller")
    done
    local uniq_where; uniq_where=$(printf '%s\n' "${where[@]}" | sort -u | grep . | paste -sd, -)
    if [ "$cat" = ext ]; then
      if [ -n "$uniq_where" ]; then ext_hits=$((ext_hits + 1)); echo "    LEAK: $label -> $uniq_where"; fi
    elif [ -n "$uniq_where" ]; then
      user_notes+=("$label -> $uniq_where")
    fi
  done
  local n_ext; n_ext=$(printf '%s\n' "${calls[@]}" | grep -c '^ext|')
  echo "    secret hits for the $n_ext calls the extension is responsible for: $ext_hits"
  local u; for u in "${user_notes[@]}"; do echo "    note (outside the extension's control): $u"; done
  [ "$ext_hits" -eq 0 ] || ok=1
  # The secrets are unreadable to the roles that may only ingest or read.
  local r readable=""
  for r in rel_ingest rel_reader; do
    qq secrets sec -c "SET ROLE $r; SELECT secret FROM stripe.endpoints" >/dev/null 2>&1 && readable+=" $r"
  done
  echo "    stripe.endpoints readable by stripe_ingest / stripe_reader members:${readable:- no}"
  [ -z "$readable" ] || ok=1
  cluster_stop secrets
  return $ok
}

#############################################################################################
# 5a. upgrade
#############################################################################################
check_upgrade() {
  local ok=0 sharedir default scripts=() f
  sharedir=$(pg_config --sharedir)/extension
  default=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$ROOT/pg_stripe.control")
  for f in "$sharedir"/pg_stripe--*--*.sql; do [ -e "$f" ] && scripts+=("$(basename "$f")"); done
  local repo_scripts; repo_scripts=$(find "$ROOT" -name 'pg_stripe--*--*.sql' -not -path '*/build*' -not -path '*/results/*' | sed "s|$ROOT/||" | paste -sd' ' -)
  echo "    default_version $default; installed upgrade scripts: ${scripts[*]:-none}; in the tree: ${repo_scripts:-none}"
  new_db main up_fresh pg_stripe || return 1
  catalog_dump main up_fresh >"$WORK/up_fresh.cat" || return 1
  echo "    fresh install of $default: $(wc -l <"$WORK/up_fresh.cat") catalog facts ($(awk '{print $1}' "$WORK/up_fresh.cat" | sort | uniq -c | awk '{printf "%s%s %s", (NR>1?", ":""), $1, $2}'))"
  # Every version with an update path to the default, not only the scripts' first versions.
  local from n=0
  for from in $(q main up_fresh -c "SELECT source FROM pg_extension_update_paths('pg_stripe') WHERE target = '$default' AND path IS NOT NULL AND source <> '$default' ORDER BY 1"); do
    n=$((n + 1))
    local db=up_$n
    q main postgres -c "CREATE DATABASE $db" || return 1
    if ! q main "$db" -c "SET client_min_messages = warning; CREATE EXTENSION pg_stripe VERSION '$from'" 2>"$WORK/$db.err"; then
      ok=1; echo "    $from: CREATE EXTENSION VERSION failed: $(head -2 "$WORK/$db.err")"; continue
    fi
    local path; path=$(q main "$db" -c "SELECT path FROM pg_extension_update_paths('pg_stripe') WHERE source = '$from' AND target = '$default'")
    if ! q main "$db" -c "ALTER EXTENSION pg_stripe UPDATE" 2>"$WORK/$db.err"; then
      ok=1; echo "    $from -> $default: ALTER EXTENSION UPDATE failed: $(head -2 "$WORK/$db.err")"; continue
    fi
    catalog_dump main "$db" >"$WORK/$db.cat" || return 1
    if diff -q "$WORK/up_fresh.cat" "$WORK/$db.cat" >/dev/null; then
      echo "    $from -> $default via $path: schema == fresh install"
    else
      ok=1; echo "    $from -> $default via $path: schema differs from a fresh install (- fresh, + upgraded):"
      diff "$WORK/up_fresh.cat" "$WORK/$db.cat" | grep '^[<>]' | sed 's/^</-/; s/^>/+/' | cut -c1-220 | head -40 | sed 's/^/      /'
    fi
  done
  if [ "$n" -eq 0 ]; then
    echo "    no upgrade scripts: nothing to upgrade from; checking that the fresh install is self-consistent"
    local c=0
    # Deterministic: a second install is the same schema.
    new_db main up_again pg_stripe || return 1
    catalog_dump main up_again >"$WORK/up_again.cat"
    diff -q "$WORK/up_fresh.cat" "$WORK/up_again.cat" >/dev/null && echo "      two installs: identical" \
      || { c=1; echo "      two installs differ:"; diff "$WORK/up_fresh.cat" "$WORK/up_again.cat" | head | sed 's/^/        /'; }
    # UPDATE to the version installed is a no-op.
    q main up_again -c "ALTER EXTENSION pg_stripe UPDATE" 2>&1 | grep -v '^$' | sed 's/^/      ALTER EXTENSION UPDATE: /'
    catalog_dump main up_again >"$WORK/up_again2.cat"
    diff -q "$WORK/up_fresh.cat" "$WORK/up_again2.cat" >/dev/null && echo "      ALTER EXTENSION pg_stripe UPDATE: no change" || { c=1; echo "      ALTER EXTENSION UPDATE changed the schema"; }
    # Every object in schema stripe belongs to the extension (nothing a DROP would leave behind).
    local loose
    loose=$(q main up_again <<'SQL'
SELECT string_agg(o, ', ') FROM (
  SELECT 'relation ' || c.relname AS o FROM pg_class c
   WHERE c.relnamespace = 'stripe'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p', 'c')
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'i', 'a'))
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure FROM pg_proc p
   WHERE p.pronamespace = 'stripe'::regnamespace
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 'type ' || t.typname FROM pg_type t
   WHERE t.typnamespace = 'stripe'::regnamespace AND t.typtype IN ('c', 'e', 'd', 'r', 'm') AND t.typrelid = 0
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
) x
SQL
)
    [ -z "$loose" ] && echo "      every relation, function and type of schema stripe is an extension member ($(grep -c '^extension-member' "$WORK/up_fresh.cat") members)" \
      || { c=1; echo "      objects of schema stripe outside the extension: $loose"; }
    # A schema-only dump holds the extension, not its members' definitions.
    pg_dump -h "${CL_DIR[main]}" -p "${CL_PORT[main]}" --schema-only -d up_again >"$WORK/up_again.sql" || return 1
    local stray; stray=$(grep -cE '^CREATE (TABLE|VIEW|FUNCTION|TRIGGER|INDEX|POLICY|TYPE) stripe\.' "$WORK/up_again.sql")
    echo "      pg_dump --schema-only: CREATE EXTENSION plus $stray stray CREATE statements for stripe.* objects"
    [ "$stray" -eq 0 ] || c=1
    # DROP leaves nothing behind; a reinstall is the same schema.
    q main up_again -c "DROP EXTENSION pg_stripe" || return 1
    # (The schema itself stays: CREATE EXTENSION made it from the control file's `schema`, and
    # Postgres does not make such a schema an extension member.)
    local left; left=$(q main up_again -c "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = n.oid)
      + (SELECT count(*) FROM pg_proc WHERE pronamespace = n.oid) + (SELECT count(*) FROM pg_type WHERE typnamespace = n.oid)
      FROM pg_namespace n WHERE nspname = 'stripe'")
    q main up_again -c "SET client_min_messages = warning; CREATE EXTENSION pg_stripe" || return 1
    catalog_dump main up_again >"$WORK/up_again3.cat"
    if [ "${left:-0}" -eq 0 ] && diff -q "$WORK/up_fresh.cat" "$WORK/up_again3.cat" >/dev/null; then
      echo "      DROP EXTENSION leaves no object in schema stripe (the empty schema stays); reinstall: identical"
    else c=1; echo "      after DROP EXTENSION objects left in schema stripe: $left; reinstall identical: $(diff -q "$WORK/up_fresh.cat" "$WORK/up_again3.cat" >/dev/null && echo yes || echo no)"; fi
    ok=$c
  fi
  if [ -n "$repo_scripts" ] && [ ${#scripts[@]} -eq 0 ]; then
    ok=1; echo "    upgrade scripts in the tree are not installed (Makefile DATA): $repo_scripts"
  fi
  # With data, across the real binaries: every earlier release (each version with an update
  # path), built from its tag. upgrade/ ships only the first release's install script; the
  # others are what their tags build.
  for from in $(q main up_fresh -c "SELECT source FROM pg_extension_update_paths('pg_stripe') WHERE target = '$default' AND path IS NOT NULL AND source <> '$default' ORDER BY 1"); do
    upgrade_with_data "$from" "$default" || ok=1
  done
  return $ok
}

# upgrade_with_data FROM TO: release FROM (git tag vFROM), built from this clone's history into a
# private prefix (extension_destdir), ingests the first half of the in-order stream; then the
# cluster restarts on the installed build, ALTER EXTENSION UPDATE, and the rest of the stream is
# ingested. The state must equal the serial reference's: no event, object or figure lost or
# changed by the upgrade.
upgrade_with_data() {
  local from=$1 to=$2 src=$WORK/release_$1 dest=$WORK/release_$1_dest half t0=$SECONDS
  local cl=upg_${1//./_}  # a cluster of its own per release
  if ! git -C "$ROOT" rev-parse -q --verify "refs/tags/v$from" >/dev/null 2>&1; then
    echo "    $from -> $to with data: no tag v$from in this clone (shallow?), not checked"; return 0
  fi
  rm -rf "$src" "$dest"; mkdir -p "$src"
  git -C "$ROOT" archive "v$from" | tar -x -C "$src" || return 1
  if ! { make -C "$src" -j"$(nproc)" && make -C "$src" install DESTDIR="$dest"; } >"$src/build.log" 2>&1; then
    echo "    $from -> $to with data: building v$from failed:"; tail -5 "$src/build.log" | sed 's/^/      /'; return 1
  fi
  chmod -R a+rX "$dest"
  cluster_new "$cl" "extension_destdir = '$dest'" || return 1
  new_db "$cl" d pg_stripe || return 1
  local got; got=$(q "$cl" d -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_stripe'")
  [ "$got" = "$from" ] || { echo "    $from -> $to with data: the release build installed version $got"; cluster_stop "$cl"; return 1; }
  half=$((N_EVENTS / 2))
  node "$HERE/sessions.mjs" --in "$INORDER" --sessions 1 --limit "$half" --out "$WORK/${cl}_1" >/dev/null || return 1
  node "$HERE/sessions.mjs" --in "$INORDER" --sessions 1 --rotate "$half" --limit $((N_EVENTS - half)) \
    --out "$WORK/${cl}_2" >/dev/null || return 1
  ingest_script "$cl" d "$WORK/${cl}_1/s00.sql" >"$WORK/${cl}_1.summary" || return 1
  # The new build: drop the private prefix, restart, update.
  sed -i "/^extension_destdir/d" "${CL_DIR[$cl]}/data/postgresql.conf"
  cluster_stop "$cl" && cluster_start "$cl" || return 1
  q "$cl" d -c "ALTER EXTENSION pg_stripe UPDATE" || { cluster_stop "$cl"; return 1; }
  got=$(q "$cl" d -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_stripe'")
  # The release's own install script, updated: the same schema as a fresh install.
  local schema="schema == fresh install" bad=0
  catalog_dump "$cl" d >"$WORK/$cl.cat" || return 1
  if ! diff -q "$WORK/up_fresh.cat" "$WORK/$cl.cat" >/dev/null; then
    bad=1; schema="schema DIFFERS from a fresh install (- fresh, + upgraded):"$'\n'$(diff "$WORK/up_fresh.cat" "$WORK/$cl.cat" | grep '^[<>]' | sed 's/^</-/; s/^>/+/' | cut -c1-220 | head -40 | sed 's/^/      /')
  fi
  ingest_script "$cl" d "$WORK/${cl}_2/s00.sql" >"$WORK/${cl}_2.summary" || return 1
  fingerprint "$cl" d >"$WORK/$cl.fp" || return 1
  cluster_stop "$cl"
  echo "    $from -> $to with data: v$from built from the tag ingested $(cat "$WORK/${cl}_1.summary")then updated to $got" \
       "($schema), the installed build ingested $(cat "$WORK/${cl}_2.summary")($((SECONDS - t0)) s)"
  compare_fp "upgraded" "$WORK/$cl.fp" "serial in-order reference" "$WORK/ref.fp" && [ $bad -eq 0 ]
}

#############################################################################################
# 5b. backup
#############################################################################################
sign() {  # sign SECRET T BODY -> Stripe-Signature header
  printf 't=%s,v1=%s' "$2" "$(printf '%s.%s' "$2" "$3" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1)"
}

check_backup() {
  local ok=0 src=conc secret
  if [ ! -f "$WORK/conc.secret" ]; then  # the load check did not run: a smaller source
    src=bk_src; secret=whsec_$(rand_hex 24); echo "$secret" >"$WORK/conc.secret"
    new_db main bk_src pg_stripe || return 1
    q main bk_src -c "SELECT stripe.create_endpoint('rel', '$secret', 86400)" >/dev/null || return 1
    node "$HERE/sessions.mjs" --in "$STREAM" --sessions "$SESSIONS" --signed-pct "$SIGNED_PCT" --endpoint rel \
      --secret "$secret" --out "$WORK/bk" >/dev/null || return 1
    deliver_start main bk_src "$WORK/bk" "$WORK/bk/run"; deliver_wait
  fi
  secret=$(cat "$WORK/conc.secret")
  local new_secret=whsec_$(rand_hex 24) now; now=$(date +%s)
  # Configuration and diagnostics worth keeping: a rotation in its overlap window, a second
  # endpoint, an account restriction, rejected deliveries.
  q main "$src" -c "SELECT stripe.rotate_endpoint_secret('rel', '$new_secret', '2 days')" \
    -c "SELECT stripe.create_endpoint('other', 'whsec_$(rand_hex 16)', 0)" \
    -c "INSERT INTO stripe.account_access VALUES ('stripe_reader', NULL)" \
    -c "SELECT status FROM stripe.ingest('{\"id\":\"evt_bad\"}', 't=$now,v1=00', 'rel')" >/dev/null || return 1
  local t0=$SECONDS
  pg_dump -h "${CL_DIR[main]}" -p "${CL_PORT[main]}" -Fc -f "$WORK/backup.dump" -d "$src" || return 1
  local dump_s=$((SECONDS - t0)); t0=$SECONDS
  q main postgres -c "CREATE DATABASE restored" || return 1
  pg_restore -h "${CL_DIR[main]}" -p "${CL_PORT[main]}" -d restored --exit-on-error "$WORK/backup.dump" 2>"$WORK/restore.err" \
    || { ok=1; echo "    pg_restore failed: $(head -5 "$WORK/restore.err")"; }
  echo "    pg_dump -Fc of $src ($(du -h "$WORK/backup.dump" | cut -f1), $dump_s s) restored into a new database in $((SECONDS - t0)) s;" \
       "dumped table data: $(pg_restore -l "$WORK/backup.dump" | grep -E 'TABLE DATA|SEQUENCE SET' | awk '{print $(NF-1)}' | paste -sd' ' -)"
  # Configuration, log and diagnostics: every column, every row.
  local t
  for t in endpoints account_access events rejected_deliveries; do
    local a b
    a=$(q main "$src" -c "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM stripe.$t t")
    b=$(q main restored -c "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM stripe.$t t")
    if [ "$a" = "$b" ]; then echo "    stripe.$t: ${a%% *} rows, identical (all columns)"
    else ok=1; echo "    stripe.$t differs: source ${a%% *} rows, restored ${b%% *} rows"; fi
  done
  fingerprint main "$src" >"$WORK/bk_src.fp" && fingerprint main restored >"$WORK/bk_restored.fp" || return 1
  compare_fp "source" "$WORK/bk_src.fp" "restored" "$WORK/bk_restored.fp" || { ok=1; schema_check main restored; }
  # Ingest after the restore, with the restored secrets (current and, in its overlap, previous),
  # into both databases: same results, same state.
  local b1='{"id":"evt_after_restore_1","object":"event","type":"customer.created","created":1790000000,"livemode":true,"data":{"object":{"id":"cus_after_restore","object":"customer","created":1790000000,"email":"after@example.com"}}}'
  local b2='{"id":"evt_after_restore_2","object":"event","type":"charge.succeeded","created":1790000100,"livemode":true,"data":{"object":{"id":"ch_after_restore","object":"charge","created":1790000100,"amount":4200,"amount_captured":4200,"currency":"usd","status":"succeeded","customer":"cus_after_restore","payment_method_details":{"type":"card","card":{"brand":"visa"}}}}}'
  local b3; b3=$(head -1 "$INORDER")
  local db results=()
  for db in "$src" restored; do
    results+=("$(q main "$db" -F ' ' \
      -c "SELECT status FROM stripe.ingest(\$b\$$b1\$b\$, '$(sign "$new_secret" "$now" "$b1")', 'rel')" \
      -c "SELECT status FROM stripe.ingest(\$b\$$b2\$b\$, '$(sign "$secret" "$now" "$b2")', 'rel')" \
      -c "SELECT status FROM stripe.ingest(\$b\$$b3\$b\$, '$(sign "$new_secret" "$now" "$b3")', 'rel')" \
      -c "SELECT status || ' ' || reason FROM stripe.ingest(\$b\$$b1\$b\$, '$(sign "whsec_wrong" "$now" "$b1")', 'rel')" | paste -sd' ' -)")
  done
  echo "    after restore, signed deliveries (new event with the new secret, new event with the previous secret in its overlap, an old event again, a wrong signature): ${results[1]}"
  [ "${results[1]}" = "accepted accepted duplicate rejected signature_mismatch" ] || ok=1
  [ "${results[0]}" = "${results[1]}" ] || { ok=1; echo "    the source answered: ${results[0]}"; }
  local seqs; seqs=$(q main restored -c "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM stripe.events WHERE id LIKE 'evt_after_restore_%'")
  echo "    new events got seq $seqs (log's max before: $(q main restored -c "SELECT max(seq) FROM stripe.events WHERE id NOT LIKE 'evt_after_restore_%'"))"
  fingerprint main "$src" >"$WORK/bk_src2.fp" && fingerprint main restored >"$WORK/bk_restored2.fp" || return 1
  compare_fp "source after the same deliveries" "$WORK/bk_src2.fp" "restored after them" "$WORK/bk_restored2.fp" >"$WORK/bk.cmp" || ok=1
  sed 's/: [0-9]* relations equal (.*/: equal/' "$WORK/bk.cmp"
  return $ok
}

#############################################################################################
# 6. replica
#############################################################################################
check_replica() {
  local ok=0 secret=whsec_$(rand_hex 24) t0
  cluster_new primary "wal_level = replica" "max_wal_senders = 4" || return 1
  new_db primary shop pg_stripe || return 1
  schema_check primary shop
  q primary shop -c "SELECT stripe.create_endpoint('rel', '$secret', 86400)" >/dev/null || return 1
  # Standby from a base backup, streaming, in its own directory and socket.
  local rdir=$WORK/replica port; port=$(free_port)
  mkdir -p "$rdir"; chown postgres: "$rdir"
  t0=$SECONDS
  as_pg "$PGBIN/pg_basebackup" -h "${CL_DIR[primary]}" -p "${CL_PORT[primary]}" -U postgres -D "$rdir/data" -R -X stream -c fast \
    || { echo "    pg_basebackup failed"; return 1; }
  # hot_standby_feedback: the usual setting of a standby that serves reports, or the primary's
  # cleanup of the ingest's updated rows cancels long read snapshots (40001 conflicts).
  printf "port = %s\nunix_socket_directories = '%s'\nhot_standby = on\nhot_standby_feedback = on\n" "$port" "$rdir" >>"$rdir/data/postgresql.conf"
  CL_DIR[replica]=$rdir; CL_PORT[replica]=$port
  cluster_start replica || { echo "    standby did not start"; tail "$rdir/log"; return 1; }
  wait_ready replica 60 || return 1
  echo "    pg_basebackup -R + standby start: $((SECONDS - t0)) s; standby in recovery: $(q replica shop -c "SELECT pg_is_in_recovery()")," \
       "streaming: $(q primary postgres -c "SELECT string_agg(state || '/' || sync_state, ',') FROM pg_stat_replication")"
  # What a reader runs on the standby, in one REPEATABLE READ snapshot: every view, customer_rfm(),
  # report() and dashboard_html() if they exist, and two invariants between the object tables
  # and the aggregate-backed views (the aggregates move with the objects, in the same commit).
  local views; views=$(q primary shop -c "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class WHERE relnamespace = 'stripe'::regnamespace AND relkind = 'v'")
  {
    echo '\set VERBOSITY verbose'
    echo 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;'
    echo "SELECT 'events', count(*) FROM stripe.events;"
    echo "SELECT 'invariant', (SELECT coalesce(sum(successful_payments), 0) FROM stripe.payments_daily) = (SELECT count(*) FROM stripe.charges WHERE status = 'succeeded' AND created IS NOT NULL AND currency IS NOT NULL);"
    echo "SELECT 'invariant', (SELECT coalesce(sum(new_customers), 0) FROM stripe.new_customers_daily) = (SELECT count(*) FROM stripe.customers WHERE created IS NOT NULL);"
    local v; for v in $views; do echo "SELECT 'query', count(*) FROM stripe.$v;"; done
    echo "SELECT 'query', count(*) FROM stripe.customer_rfm();"
    q primary shop -c "SELECT proname FROM pg_proc WHERE pronamespace = 'stripe'::regnamespace AND proname IN ('report', 'dashboard_html') AND pronargs = pronargdefaults" \
      | while read -r f; do echo "SELECT 'query', length(string_agg(t::text, '')) FROM stripe.$f() t;"; done
    echo 'COMMIT;'
  } >"$WORK/replica-reads.sql"
  local per_round; per_round=$(grep -c "^SELECT" "$WORK/replica-reads.sql")
  node "$HERE/sessions.mjs" --in "$STREAM" --sessions "$SESSIONS" --signed-pct "$SIGNED_PCT" --endpoint rel \
    --secret "$secret" --out "$WORK/replica-load" >/dev/null || return 1
  t0=$SECONDS
  deliver_start primary shop "$WORK/replica-load" "$WORK/replica-load/run"
  local rounds=0 last=-1 regress=0 p alive
  : >"$WORK/replica-reads.out"; : >"$WORK/replica-reads.err"
  while :; do
    alive=0; for p in "${DELIVER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 1 ] || break
    qq replica shop -F ' ' -f "$WORK/replica-reads.sql" >"$WORK/replica-round.out" 2>>"$WORK/replica-reads.err"
    cat "$WORK/replica-round.out" >>"$WORK/replica-reads.out"
    rounds=$((rounds + 1))
    local seen; seen=$(awk '$1=="events"{print $2}' "$WORK/replica-round.out")
    if [ -n "$seen" ]; then [ "$seen" -lt "$last" ] && regress=$((regress + 1)); last=$seen; fi
  done
  deliver_wait
  local dur=$((SECONDS - t0))
  echo "    primary: $SESSIONS sessions ingested $N_DELIVERIES deliveries in $dur s: $(summarize_delivery "$WORK/replica-load/run")"
  [ "$(wc -l <"$WORK/replica-load/run.errors")" -eq 0 ] || ok=1
  local answered inv_bad errs conflicts
  answered=$(grep -c . "$WORK/replica-reads.out")
  inv_bad=$(awk '$1=="invariant" && $2!="t"' "$WORK/replica-reads.out" | wc -l)
  # The first error of a round (the rest of its transaction is 25P02, "aborted").
  errs=$(grep 'ERROR' "$WORK/replica-reads.err" | grep -v 25P02 | grep -vc 40001)
  conflicts=$(grep 'ERROR' "$WORK/replica-reads.err" | grep -c 40001)
  echo "    standby during the ingest: $rounds rounds of $per_round queries (${views// /, }, customer_rfm, report/dashboard), $answered answered," \
       "$errs errors, $conflicts canceled by recovery conflicts; events seen grew $(awk '$1=="events"{print $2}' "$WORK/replica-reads.out" | head -1) -> $last," \
       "went backwards $regress times; snapshot invariants violated: $inv_bad"
  [ "$errs" -eq 0 ] || { ok=1; grep ERROR "$WORK/replica-reads.err" | grep -v 25P02 | sed -E 's/^psql:[^:]*:[0-9]+: //' | sort | uniq -c | head | sed 's/^/      /'; }
  # A recovery conflict is Postgres' standby behaviour, not the extension's; with the feedback on
  # it should be rare: most rounds must get through.
  [ $((conflicts * 10)) -le "$rounds" ] || { ok=1; echo "    more than one round in ten canceled by recovery conflicts"; }
  [ "$regress" -eq 0 ] && [ "$inv_bad" -eq 0 ] && [ "$rounds" -gt 0 ] || ok=1
  # Catch up and compare.
  local lsn; lsn=$(q primary postgres -c "SELECT pg_current_wal_lsn()")
  t0=$SECONDS
  until [ "$(q replica postgres -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ]; do
    [ $((SECONDS - t0)) -gt 120 ] && { echo "    standby did not replay up to $lsn in 120 s"; return 1; }
    sleep 0.2
  done
  echo "    standby replayed up to the primary's $lsn $((SECONDS - t0)) s after the ingest ended"
  fingerprint primary shop >"$WORK/primary.fp" && fingerprint replica shop >"$WORK/replica.fp" || return 1
  compare_fp "standby" "$WORK/replica.fp" "primary" "$WORK/primary.fp" || ok=1
  compare_fp "standby" "$WORK/replica.fp" "serial in-order reference" "$WORK/ref.fp" >"$WORK/replica.cmp" || ok=1
  sed 's/: [0-9]* relations equal (.*/: equal/' "$WORK/replica.cmp"
  cluster_stop replica; cluster_stop primary
  return $ok
}

#############################################################################################
# 7. ties: SPEC §2 lets the later-arriving event win between events of equal `created`. Under
# concurrency "later" must mean the same thing to live ingest and to stripe.rebuild() (which
# replays in stripe.events.seq order), or a rebuild does not give the incremental state. The
# generated shop never has such ties; this stream has nothing else.
#############################################################################################
check_ties() {
  local ok=0 objects=${REL_TIE_OBJECTS:-5000}
  node -e '
    const n = +process.argv[1]; const out = []; let e = 0;
    for (let i = 0; i < n; i++) {
      const t = 1780000000 + i * 10;
      for (const st of ["requires_payment_method", "requires_action", "processing"])
        out.push(JSON.stringify({ id: `evt_tie_${++e}`, object: "event", type: "payment_intent.updated", created: t, livemode: false,
          data: { object: { id: `pi_tie_${i}`, object: "payment_intent", created: t - 5, amount: 1000 + i, currency: "usd", status: st } } }));
    }
    require("fs").writeFileSync(process.argv[2], out.join("\n") + "\n");' "$objects" "$WORK/ties.jsonl" || return 1
  new_db main ties pg_stripe || return 1
  node "$HERE/sessions.mjs" --in "$WORK/ties.jsonl" --sessions "$SESSIONS" --out "$WORK/ties" >/dev/null || return 1
  local t0=$SECONDS
  deliver_start main ties "$WORK/ties" "$WORK/ties/run"; deliver_wait
  echo "    $objects payment intents x 3 events with the same created and different non-terminal statuses," \
       "$SESSIONS sessions, $((SECONDS - t0)) s: $(summarize_delivery "$WORK/ties/run")"
  q main postgres -c "CREATE DATABASE ties_rb TEMPLATE ties" || return 1
  q main ties_rb -c "SELECT stripe.rebuild()" >/dev/null 2>"$WORK/ties_rb.err" \
    || { echo "    stripe.rebuild() failed: $(grep -E '^(ERROR|HINT)' "$WORK/ties_rb.err" | paste -sd' ' -)"; q main postgres -c "DROP DATABASE ties_rb" -c "DROP DATABASE ties"; return 1; }
  local sql="SELECT id || ' ' || status || ' ' || event_id FROM stripe.payment_intents ORDER BY id"
  q main ties -c "$sql" >"$WORK/ties.live"; q main ties_rb -c "$sql" >"$WORK/ties.rebuilt"
  local n; n=$(diff "$WORK/ties.live" "$WORK/ties.rebuilt" | grep -c '^<')
  echo "    objects whose live state differs from stripe.rebuild() of the same log: $n of $objects"
  if [ "$n" -gt 0 ]; then
    ok=1
    diff "$WORK/ties.live" "$WORK/ties.rebuilt" | grep '^[<>]' | head -6 | sed 's/^</      live   /; s/^>/      rebuilt/'
    local id; id=$(diff "$WORK/ties.live" "$WORK/ties.rebuilt" | grep '^<' | head -1 | awk '{print $2}')
    echo "      log of $id (seq order = replay order):"
    q main ties -F ' ' -c "SELECT seq, id, body::jsonb #>> '{data,object,status}' FROM stripe.events WHERE object_id = '$id' ORDER BY seq" | sed 's/^/        /'
  fi
  q main postgres -c "DROP DATABASE ties_rb" -c "DROP DATABASE ties"
  return $ok
}

#############################################################################################
main() {
  setup || { failed=$((failed + 1)); failures+=(setup); finish; }
  selected load && check load check_load
  selected crash && check crash check_crash
  selected fuzz && check fuzz check_fuzz
  selected secrets && check secrets check_secrets
  selected upgrade && check upgrade check_upgrade
  selected backup && check backup check_backup
  selected replica && check replica check_replica
  selected ties && check ties check_ties
  finish
}
main
