#!/usr/bin/env bash
# bench/concurrent.sh — section "concurrent" of `make bench`: 1, 2 and 4 sessions ingesting one
# delivery stream (tools/shopgen.mjs events.jsonl: every event 1-3 times, shuffled), split
# round-robin (delivery i to session i mod S), each delivery its own transaction through the
# signed stripe.ingest, synchronous_commit off. Each session count ingests into a fresh database.
# Throughput = deliveries / wall clock from the common start to the last session's end; CPU = the
# sessions' backends together. Then: nothing lost or doubled (events logged = distinct ids of the
# stream, no rejection) and every object table, customer_totals and every view equal to those of
# the 1-session (serial) run.
#
# Environment: BENCH_CONCURRENT_N (deliveries, default 20000), BENCH_CONCURRENT_SESSIONS
# (default "1 2 4"), BENCH_SHOP_COUNT / BENCH_SHOP_SEED.
set -euo pipefail
SECTION=concurrent
source "$(dirname "$0")/lib/common.sh"

N=${BENCH_CONCURRENT_N:-20000}
SESSIONS=${BENCH_CONCURRENT_SESSIONS:-1 2 4}
COUNT=${BENCH_SHOP_COUNT:-100000}
SEED=${BENCH_SHOP_SEED:-1}
if [ $((COUNT * 3 / 2)) -lt "$N" ]; then COUNT=$((N * 2 / 3 + 1000)); fi

dir=$(shop "$COUNT" "$SEED")
signed_rows "$dir/events.jsonl" "$WORK/conc_rows.copy" "$N"
STMT="SELECT r.status FROM bench.bodies b CROSS JOIN LATERAL stripe.ingest(b.body, b.header, 'bench') r WHERE b.n = \$1"

declare -A EVS CPU
ref=""
for s in $SESSIONS; do
  db=conc_$s
  psqlq -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  psqlq -d "$db" -c "CREATE EXTENSION pg_stripe" -c "SELECT stripe.create_endpoint('bench', '$SECRET', 86400)" > /dev/null
  load_bodies "$db" "$WORK/conc_rows.copy"
  psqlq -d "$db" -c CHECKPOINT
  log "$s session(s): $N deliveries (load $(load_now))"
  r=$(drive_parallel "$db" "conc$s" "$STMT" "$N" "$s" "SET synchronous_commit = off;")
  EVS[$s]=$(calc "$N / ${r% *}"); CPU[$s]=$(calc "${r#* } * 1e6 / $N")
  distinct=$(val -d "$db" -c "SELECT count(DISTINCT (body::json)->>'id') FROM bench.bodies")
  logged=$(val -d "$db" -c "SELECT count(*) || ' ' || count(DISTINCT id) FROM stripe.events")
  rej=$(val -d "$db" -c "SELECT count(*) FROM stripe.rejected_deliveries")
  [ "$logged" = "$distinct $distinct" ] || die "$s sessions: events logged (count, distinct) = $logged, the stream has $distinct distinct"
  [ "$rej" = 0 ] || die "$s sessions: $rej deliveries rejected"
  state_digest "$db" > "$WORK/conc_digest_$s"
  if [ -z "$ref" ]; then
    ref=$s
    same="reference (serial)"
  elif cmp -s "$WORK/conc_digest_$ref" "$WORK/conc_digest_$s"; then
    same="equal to the $ref-session run"
  else
    diff "$WORK/conc_digest_$ref" "$WORK/conc_digest_$s" >&2 || true
    die "$s sessions: state differs from the $ref-session run (tables above)"
  fi
  emit "$s session(s), sync off" "$(fmt0 "${EVS[$s]}")" "ev/s" \
    "$N deliveries in $(fmt1 "${r% *}") s; backend CPU $(fmt1 "${CPU[$s]}") us/ev; $distinct events logged once each, none rejected; state $same"
  psqlq -d postgres -c "DROP DATABASE $db" || true
done
for s in $SESSIONS; do
  [ "$s" = "$ref" ] && continue
  emit "speed-up $s sessions / $ref" "$(fmt2 "$(calc "${EVS[$s]} / ${EVS[$ref]}")")" "x" "wall clock on $(nproc) cores; CPU per event $(fmt2 "$(calc "${CPU[$s]} / ${CPU[$ref]}")") x the serial run's"
done
log "done"
