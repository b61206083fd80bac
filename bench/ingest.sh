#!/usr/bin/env bash
# bench/ingest.sh — section "ingest" of `make bench` (bench/run.sh runs it in a throw-away cluster).
#
# One session, one transaction per delivery, the first N deliveries of a generated shop's stream
# (tools/shopgen.mjs: duplicates and out-of-order arrival included), the same bodies for every
# variant:
#   stripe.ingest        signed: endpoint 'bench' created with the secret, every header signed in
#                        advance (t = the time of preparation; the endpoint's tolerance is 1 day,
#                        so the age check runs and passes)
#   stripe.ingest_event  trusted, unsigned
#   naive PL/pgSQL       bench/sql/naive_ingest.sql: jsonb event log + jsonb latest-state table
#   floor INSERT         one INSERT of the body as jsonb into a one-column table per transaction
#   floor COPY           COPY of the same bodies into a one-column jsonb table (one transaction)
#   driver only          the driver's own cost: fetch the body, return its length (read-only)
# and the same in bulk -- one statement over all N bodies, one transaction (a backfill, or a
# replay of a batch a receiver queued): stripe.ingest_event, stripe.ingest (signed), the naive
# PL/pgSQL function, and `INSERT ... SELECT body::jsonb` (the floor in SQL), next to COPY.
# Every variant runs BENCH_INGEST_ROUNDS times (default 5), the variants interleaved round by
# round, each round on a fresh database; the table shows the median of the rounds (this machine
# is shared: single runs of one variant moved by +-20%).
# The driver is one psql session that PREPAREs the variant's statement with the body number as
# its parameter and EXECUTEs it once per delivery (bodies are fetched from an uncompressed table
# by primary key: no client-side parsing, no volatile scan). Measured: wall clock and the
# backend's CPU time (/proc/<pid>/stat utime+stime) — the machine may be shared.
#
# Durability: the N deliveries run with synchronous_commit = off (a commit does not wait for its
# WAL flush: a crash may lose the last ~0.6 s of acknowledged events, never corrupts), then the
# next BENCH_INGEST_SYNC_N deliveries of the stream with synchronous_commit = on (every commit
# waits for fsync; the disk's flush time then dominates every variant alike).
#
# Environment: BENCH_INGEST_N (default 10000), BENCH_INGEST_SYNC_N (default 1000),
# BENCH_INGEST_ROUNDS (default 5),
# BENCH_SHOP_COUNT / BENCH_SHOP_SEED (the shop, default 100000 events, seed 1).
set -euo pipefail
SECTION=ingest
source "$(dirname "$0")/lib/common.sh"

N=${BENCH_INGEST_N:-10000}
NS=${BENCH_INGEST_SYNC_N:-1000}
ROUNDS=${BENCH_INGEST_ROUNDS:-5}
TOTAL=$((N + NS))
COUNT=${BENCH_SHOP_COUNT:-100000}
SEED=${BENCH_SHOP_SEED:-1}
# A stream long enough (about 1.6 deliveries per event).
if [ $((COUNT * 3 / 2)) -lt "$TOTAL" ]; then COUNT=$((TOTAL * 2 / 3 + 1000)); fi

log "shop: $COUNT events, seed $SEED"
dir=$(shop "$COUNT" "$SEED")
signed_rows "$dir/events.jsonl" "$WORK/ingest_rows.copy" "$TOTAL"
[ "$(wc -l < "$WORK/ingest_rows.copy")" -ge "$TOTAL" ] || die "the stream has fewer than $TOTAL deliveries"

OFF="SET synchronous_commit = off;"
ON="SET synchronous_commit = on;"

# variant: NAME SETUP_SQL STATEMENT
declare -A SETUP STMT
SETUP[signed]="CREATE EXTENSION pg_stripe; SELECT stripe.create_endpoint('bench', '$SECRET', 86400);"
STMT[signed]="SELECT r.status FROM bench.bodies b CROSS JOIN LATERAL stripe.ingest(b.body, b.header, 'bench') r WHERE b.n = \$1"
SETUP[event]="CREATE EXTENSION pg_stripe;"
STMT[event]="SELECT r.status FROM bench.bodies b CROSS JOIN LATERAL stripe.ingest_event(b.body) r WHERE b.n = \$1"
SETUP[naive]="\\i $ROOT/bench/sql/naive_ingest.sql"
STMT[naive]="SELECT naive.ingest(b.body) FROM bench.bodies b WHERE b.n = \$1"
SETUP[insert]="\\i $ROOT/bench/sql/naive_ingest.sql"
STMT[insert]="INSERT INTO floor.inserted (body) SELECT b.body::jsonb FROM bench.bodies b WHERE b.n = \$1"
SETUP[driver]="SELECT 1;"
STMT[driver]="SELECT length(b.body) FROM bench.bodies b WHERE b.n = \$1"
VARIANTS=(driver signed event naive insert)

# Bulk: one statement over the first N bodies (one transaction).
declare -A BSETUP BSTMT
BSETUP[bulk_event]=${SETUP[event]}
BSTMT[bulk_event]="SELECT count(*) FROM bench.bodies b CROSS JOIN LATERAL stripe.ingest_event(b.body) r WHERE b.n < $N"
BSETUP[bulk_signed]=${SETUP[signed]}
BSTMT[bulk_signed]="SELECT count(*) FROM bench.bodies b CROSS JOIN LATERAL stripe.ingest(b.body, b.header, 'bench') r WHERE b.n < $N"
BSETUP[bulk_naive]=${SETUP[naive]}
BSTMT[bulk_naive]="SELECT count(naive.ingest(b.body)) FROM bench.bodies b WHERE b.n < $N"
BSETUP[bulk_insert]=${SETUP[insert]}
BSTMT[bulk_insert]="INSERT INTO floor.inserted (body) SELECT b.body::jsonb FROM bench.bodies b WHERE b.n < $N"
BULK=(bulk_event bulk_signed bulk_naive bulk_insert copy)

# one_statement NAME DB SQL: runs SQL (or, for `copy`, COPY of the N bodies) in one session,
# recording wall clock and backend CPU like drive.
one_statement() {
  local w=$WORK/drive_$1 body=$3
  if [ "$3" = copy ]; then
    [ -s "$WORK/ingest_bodies.copy" ] || \
      psqlq -d "$2" -c "\\copy (SELECT body FROM bench.bodies WHERE n < $N ORDER BY n) TO '$WORK/ingest_bodies.copy'"
    body="\\copy floor.copied (body) FROM '$WORK/ingest_bodies.copy'"
  else
    body="$3;"
  fi
  cat > "$w.sql" <<SQL
SELECT pg_backend_pid() AS bpid \\gset
\\setenv BPID :bpid
$OFF
\\! date +%s.%N > '$w.t0'; awk '{ print \$14 + \$15 }' /proc/\$BPID/stat > '$w.c0'
$body
\\! date +%s.%N > '$w.t1'; awk '{ print \$14 + \$15 }' /proc/\$BPID/stat > '$w.c1'
SQL
  psql -X -q -v ON_ERROR_STOP=1 -d "$2" -o /dev/null -f "$w.sql" || die "$1 failed"
}

fresh_db() {  # fresh_db DB SETUP
  psqlq -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
  psqlq -d "$1" <<< "$2" > /dev/null
  load_bodies "$1" "$WORK/ingest_rows.copy"
  psqlq -d "$1" -c CHECKPOINT
}

for ((r = 1; r <= ROUNDS; r++)); do
  for v in "${VARIANTS[@]}"; do
    db=ingest_$v
    fresh_db "$db" "${SETUP[$v]}"
    log "round $r/$ROUNDS, $v: $N deliveries, one transaction each, synchronous_commit off (load $(load_now))"
    drive "$db" "${v}_off_r$r" "${STMT[$v]}" 0 $((N - 1)) 1 "$OFF"
    # synchronous_commit on: once, in the last round (the disk's flush bounds every variant alike).
    if [ "$r" = "$ROUNDS" ] && [ "$NS" -gt 0 ] && [ "$v" != driver ]; then
      log "$v: $NS more deliveries, synchronous_commit on"
      drive "$db" "${v}_on" "${STMT[$v]}" "$N" $((TOTAL - 1)) 1 "$ON"
    fi
  done
  for v in "${BULK[@]}"; do
    db=ingest_$v
    [ "$v" = copy ] && db=ingest_bulk_insert
    if [ "$v" != copy ]; then fresh_db "$db" "${BSETUP[$v]}"; fi
    log "round $r/$ROUNDS, $v: $N deliveries in one statement (load $(load_now))"
    one_statement "${v}_r$r" "$db" "${BSTMT[$v]:-copy}"
  done
done
rm -f "$WORK/ingest_bodies.copy"

# Checks: nothing rejected, every distinct event logged once, signed == unsigned state.
distinct=$(val -d ingest_signed -c "SELECT count(DISTINCT (body::json)->>'id') FROM bench.bodies WHERE n < $TOTAL")
dups=$(val -d ingest_signed -c "SELECT $TOTAL - $distinct")
bytes=$(val -d ingest_signed -c "SELECT round(avg(octet_length(body))) FROM bench.bodies WHERE n < $TOTAL")
rej=$(val -d ingest_signed -c "SELECT count(*) FROM stripe.rejected_deliveries")
[ "$rej" = 0 ] || die "$rej deliveries rejected: $(val -d ingest_signed -c 'SELECT reason, message FROM stripe.rejected_deliveries LIMIT 3')"
for d in ingest_signed ingest_event; do
  got=$(val -d "$d" -c "SELECT count(*) FROM stripe.events")
  [ "$got" = "$distinct" ] || die "$d logged $got events, the stream has $distinct distinct"
done
got=$(val -d ingest_naive -c "SELECT count(*) FROM naive.events")
[ "$got" = "$distinct" ] || die "naive logged $got events, the stream has $distinct distinct"
[ "$(state_digest ingest_signed)" = "$(state_digest ingest_event)" ] || die "stripe.ingest and stripe.ingest_event end in different states"
got=$(val -d ingest_bulk_insert -c "SELECT count(*) FROM floor.copied")
[ "$got" = "$N" ] || die "COPY loaded $got rows"
# Bulk: the same state signed or not, every distinct event of the first N deliveries logged once.
distinct_n=$(val -d ingest_bulk_event -c "SELECT count(DISTINCT (body::json)->>'id') FROM bench.bodies WHERE n < $N")
for d in ingest_bulk_event ingest_bulk_signed; do
  got=$(val -d "$d" -c "SELECT count(*) FROM stripe.events")
  [ "$got" = "$distinct_n" ] || die "$d logged $got events, the first $N deliveries have $distinct_n distinct"
done
[ "$(state_digest ingest_bulk_signed)" = "$(state_digest ingest_bulk_event)" ] || die "bulk stripe.ingest and stripe.ingest_event end in different states"

# Rows.
declare -A EVS CPU
# rate_row KEY LABEL COUNT NOTE [rounds]: median ev/s and CPU/ev over the rounds KEY_r1.. (or KEY).
rate_row() {
  local key=$1 r wall cpu i walls=() cpus=() rn=""
  if [ -e "$WORK/drive_${key}_r1.t1" ]; then
    for ((i = 1; i <= ROUNDS; i++)); do
      r=$(drive_result "${key}_r$i"); walls+=("$(calc "$3 / ${r% *}")"); cpus+=("$(calc "${r#* } * 1000000 / $3")")
    done
    EVS[$key]=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    CPU[$key]=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    rn="median of $ROUNDS rounds (CPU us/ev $(printf '%s\n' "${cpus[@]}" | awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 }'))"
  else
    r=$(drive_result "$key"); wall=${r% *}; cpu=${r#* }
    EVS[$key]=$(calc "$3 / $wall"); CPU[$key]=$(calc "$cpu * 1000000 / $3"); rn="one run"
  fi
  emit "$2" "$(fmt0 "${EVS[$key]}")" "ev/s" "backend CPU $(fmt1 "${CPU[$key]}") us/ev; $3 deliveries; $rn${4:+; $4}"
}
emit "deliveries, sync off / on" "$N / $NS" "" "shop $COUNT events seed $SEED: $dups duplicates in $TOTAL deliveries, mean body $bytes B"
rate_row copy "floor: COPY into jsonb table" "$N" "one COPY, one transaction"
rate_row insert_off "floor: INSERT jsonb, sync off" "$N" "one INSERT per transaction"
rate_row signed_off "stripe.ingest (signed), sync off" "$N" ""
rate_row event_off "stripe.ingest_event, sync off" "$N" ""
rate_row naive_off "naive PL/pgSQL, sync off" "$N" "jsonb log + jsonb objects, ordering rule"
rate_row driver_off "driver only (fetch body)" "$N" "read-only: included in every per-delivery row"
rate_row bulk_event "bulk: stripe.ingest_event" "$N" "one statement, one transaction"
rate_row bulk_signed "bulk: stripe.ingest (signed)" "$N" "one statement, one transaction"
rate_row bulk_naive "bulk: naive PL/pgSQL" "$N" "one statement, one transaction"
rate_row bulk_insert "bulk: INSERT ... SELECT body::jsonb" "$N" "the floor in one SQL statement"
if [ "$NS" -gt 0 ]; then
  rate_row insert_on "floor: INSERT jsonb, sync on" "$NS" ""
  rate_row signed_on "stripe.ingest (signed), sync on" "$NS" ""
  rate_row event_on "stripe.ingest_event, sync on" "$NS" ""
  rate_row naive_on "naive PL/pgSQL, sync on" "$NS" ""
fi
ratio() {  # ratio LABEL A B NOTE: CPU per event A / B, and the wall-clock ratio in the note
  emit "$1" "$(fmt2 "$(calc "${CPU[$2]} / ${CPU[$3]}")")" "x" "backend CPU per event; wall clock: $(fmt2 "$(calc "${EVS[$3]} / ${EVS[$2]}")") x${4:+; $4}"
}
ratio "ratio ingest / COPY floor" signed_off copy "one transaction per delivery vs one COPY"
ratio "ratio ingest / INSERT floor" signed_off insert_off "sync off"
ratio "ratio ingest / ingest_event" signed_off event_off "signature check + endpoint lookup"
ratio "ratio naive / ingest" naive_off signed_off "> 1: the naive reading costs more"
ratio "ratio naive / ingest_event" naive_off event_off "> 1: the naive reading costs more"
ratio "ratio bulk ingest_event / COPY" bulk_event copy "target: ingest >= 50% of COPY's rate, i.e. <= 2x its CPU"
ratio "ratio bulk ingest / COPY" bulk_signed copy "signed, in bulk"
ratio "ratio bulk naive / ingest_event" bulk_naive bulk_event "> 1: the naive reading costs more"
if [ "$NS" -gt 0 ]; then
  emit "ratio ingest sync on / off" "$(fmt2 "$(calc "${EVS[signed_off]} / ${EVS[signed_on]}")")" "x" "wall clock per event: the commit's WAL flush"
fi
log "done"
