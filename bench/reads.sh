#!/usr/bin/env bash
# bench/reads.sh — section "reads" of `make bench`: the dashboard's queries at growing sizes of
# one shop's state, against the same figures computed naively from the jsonb event log.
#
# The state at S events is built from S / STEP generated shops (tools/shopgen.mjs --count STEP,
# seeds 1, 2, ...: the same 12 months, so a bigger state is a busier shop, as a shop that grows
# its customer base would be). Each shop's in-order stream is ingested through
# stripe.ingest_event, BENCH_READS_SESSIONS sessions in parallel (whole streams per session), in
# transactions of BENCH_READS_BATCH events (bench.load below): the object tables, aggregates and
# log are exactly those of one-event-per-transaction ingest (only events.received_at differs);
# batching only saves the per-commit cost while building big states. Then VACUUM ANALYZE, as
# autovacuum would have done on a live system.
#
# Timed server side (bench.time_query: every row of the result formed, none sent to the client;
# warm caches): one warm-up run, then the median of BENCH_REPEAT runs, or a single run when one
# takes over a second; a run over BENCH_READS_TIMEOUT seconds (default 10: 200x the target) is
# cancelled and reported as "> ..." (and its target as missed):
#   payments_daily  SELECT * FROM stripe.payments_daily WHERE day BETWEEN <last day - 89> AND <last day>
#   customer_rfm    SELECT * FROM stripe.customer_rfm(<the day after the last day>)
#   cohort_retention SELECT * FROM stripe.cohort_retention
#   report          SELECT * FROM stripe.report()   (its default period: the last 90 days with a charge)
#   payments_range  SELECT * FROM stripe.payments('day', <from>, <to>): the same rows as payments_daily,
#                   through the function the report uses (a range of the aggregate index); no target
# with parallel query and JIT off; payments_daily, cohort_retention and report again with the
# server's settings ("server defaults": jit as configured, on in Debian's packages).
# and their naive counterparts (bench/sql/naive_reads.sql) over naive.events (the log as jsonb),
# run once per size (up to three times, median, at the smallest size; cancelled after
# BENCH_READS_NAIVE_TIMEOUT seconds, default 30 -- the larger run: 60 -- and then shown as a lower
# bound, "> ...", with its ratio), up to BENCH_READS_NAIVE_MAX
# events (the naive report up to BENCH_READS_NAIVE_REPORT_MAX, default the smallest size: it
# is the other naive queries composed). At the smallest size the naive rows are checked equal to
# pg_stripe's.
# Targets (issue #6): each dashboard query at the largest size <= 2x its time at the smallest,
# and <= 50 ms.
#
# Environment: BENCH_READS_SIZES (default "100000 1000000"; the larger run: "100000 1000000
# 10000000"), BENCH_READS_STEP (events per generated shop, default 100000),
# BENCH_READS_SESSIONS (default 2), BENCH_READS_BATCH (default 500), BENCH_READS_NAIVE_MAX
# (default the smallest size; the larger run: 1000000), BENCH_REPEAT (default 5), BENCH_READS_SHARDS (shards the aggregate rows are
# spread over, default 10; 1 skips that measurement), BENCH_READS_SHARDS_AT (the size it runs at,
# default the smallest; the larger run: 1000000).
set -euo pipefail
SECTION=reads
source "$(dirname "$0")/lib/common.sh"

SIZES=${BENCH_READS_SIZES:-100000 1000000}
STEP=${BENCH_READS_STEP:-100000}
LS=${BENCH_READS_SESSIONS:-2}
BATCH=${BENCH_READS_BATCH:-500}
REPEAT=${BENCH_REPEAT:-5}
TIMEOUT=${BENCH_READS_TIMEOUT:-10}
NAIVE_TIMEOUT=${BENCH_READS_NAIVE_TIMEOUT:-30}
first_of() { echo "$1"; }
NAIVE_MAX=${BENCH_READS_NAIVE_MAX:-$(first_of $SIZES)}
NAIVE_REPORT_MAX=${BENCH_READS_NAIVE_REPORT_MAX:-$(first_of $SIZES)}
DB=reads
SHARDS=${BENCH_READS_SHARDS:-10}
SHARDS_AT=${BENCH_READS_SHARDS_AT:-$(first_of $SIZES)}
TARGET_MS=50

psqlq -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psqlq -d "$DB" > /dev/null <<SQL
CREATE EXTENSION pg_stripe;
CREATE EXTENSION pg_prewarm;
\i $ROOT/bench/sql/naive_ingest.sql
\i $ROOT/bench/sql/naive_reads.sql
CREATE SCHEMA bench;
-- Ingests a staged stream in order, BATCH events per transaction.
CREATE PROCEDURE bench.load(tab regclass, batch int) LANGUAGE plpgsql AS \$\$
DECLARE lo bigint := 1; hi bigint; got bigint;
BEGIN
  EXECUTE format('SELECT max(n) FROM %s', tab) INTO hi;
  WHILE lo <= hi LOOP
    EXECUTE format('SELECT count(*) FROM %s b CROSS JOIN LATERAL stripe.ingest_event(b.body) r WHERE b.n >= \$1 AND b.n < \$2', tab)
      INTO got USING lo, lo + batch;
    COMMIT;
    lo := lo + batch;
  END LOOP;
END \$\$;
-- Server-side time of a query with every row of its result formed (none sent to the client).
CREATE FUNCTION bench.time_query(q text, OUT ms float8, OUT nrows bigint) LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; r record;
BEGIN
  nrows := 0;
  t0 := clock_timestamp();
  FOR r IN EXECUTE q LOOP nrows := nrows + 1; END LOOP;
  ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;
SQL

# Shops: generated in parallel (one per core). The first BENCH_READS_CACHE shops (default 10) are
# cached across runs in $BENCH_DATA; the others (the larger run: 100 shops, 21 GB of streams) are
# generated into the scratch directory and deleted once ingested.
CACHE_SEEDS=${BENCH_READS_CACHE:-10}
shop_of() {  # shop_of SEED -> directory
  if [ "$1" -le "$CACHE_SEEDS" ]; then shop "$STEP" "$1" inorder; else SHOP_DIR=$WORK/shops shop "$STEP" "$1" inorder; fi
}
gen_shops() {  # gen_shops FIRST LAST (the cached ones; load_seeds generates the others on demand)
  local s running=0
  for ((s = $1; s <= $2 && s <= CACHE_SEEDS; s++)); do
    shop_of "$s" > /dev/null &
    running=$((running + 1))
    if [ "$running" -ge "$(nproc)" ]; then wait -n; running=$((running - 1)); fi
  done
  wait
}

# load_seeds FIRST LAST: LS sessions, seed i to session i mod LS, whole streams in order.
load_seeds() {
  local first=$1 last=$2 k pids=()
  for ((k = 0; k < LS; k++)); do
    (
      for ((s = first + k; s <= last; s += LS)); do
        d=$(shop_of "$s"); f=$d/events_inorder.jsonl
        psqlq -d "$DB" <<SQL
CREATE UNLOGGED TABLE bench.stage_$s (n bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, body text NOT NULL);
\\copy bench.stage_$s (body) FROM '$f' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
SET synchronous_commit = off;
CALL bench.load('bench.stage_$s', $BATCH);
DROP TABLE bench.stage_$s;
SQL
        [ "$s" -le "$CACHE_SEEDS" ] || rm -rf "$d"
      done
    ) &
    pids+=($!)
  done
  local ok=1
  for p in "${pids[@]}"; do wait "$p" || ok=0; done
  [ $ok = 1 ] || die "loading seeds $first..$last failed"
}

# time_q QUERY TIMEOUT_SECONDS RUNS FIRST: one session runs QUERY up to RUNS times
# (bench.time_query, server side), stopping after a run over a second from run FIRST on; prints "RUN i ms rows" per run. Fails when a
# run was cancelled (statement_timeout).
time_q() {  # time_q QUERY TIMEOUT RUNS WARM_RUNS [defaults]
  local i
  {
    # Parallel query and JIT off: the query itself is timed. "defaults": as the server is set.
    [ "${5:-}" = defaults ] || echo "SET max_parallel_workers_per_gather = 0; SET jit = off;"
    echo "SET statement_timeout = '${2}s';"
    for ((i = 0; i < $3; i++)); do
      echo "SELECT ms, nrows, ms > 1000 AS slow FROM bench.time_query(\$q\$$1\$q\$) \\gset"
      echo "\\echo RUN $i :ms :nrows"
      [ "$i" -lt "$4" ] || echo "\\if :slow \\q \\endif"
    done
  } | psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" 2>/dev/null
}

# median_min_n: numbers on stdin, one per line -> "median min count".
median_min_n() {
  sort -g | awk 'NF { a[++n] = $1 } END { m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2; print m, a[1], n }'
}

# Aggregate shards, on the state of BENCH_READS_SHARDS_AT events (default: the smallest size;
# the larger run: 1M). Before 0.3.4 an ingest session kept its shard for
# life, so a pool of N connections left N rows per bucket in every aggregate table; since 0.3.4
# a transaction claims one (as many as ran at once), and stripe.compact_aggregates() folds them.
# Here every aggregate row of the state is spread over BENCH_READS_SHARDS shards (sums kept: what
# a pool of that size left), the reads that scan aggregates are timed, the shards are folded, the
# reads timed again, and every view must answer as before the spreading. The folded state is
# the one the next size is built on.
# time_shard_queries LABEL: the reads that scan aggregates, timed as above; SH[query,LABEL] = median.
time_shard_queries() {
  local q out med mn runs
  for q in payments_daily report checkout_funnel_daily; do
    out=$(time_q "${Q[$q]}" "$TIMEOUT" "$((REPEAT + 1))" 1) || true
    read -r med mn runs <<< "$(awk '$1 == "RUN" && $2 > 0 { print $3 }' <<< "$out" | median_min_n)"
    SH[$q,$1]=$med
    if [ "$1" = spread ]; then
      emit "$q @ $size, $SHARDS shards" "$(fmt1 "$med")" "ms" "aggregate rows spread over $SHARDS shards (a pool of $SHARDS sessions before 0.3.4); median of $runs, min $(fmt1 "$mn")"
    else
      emit "$q @ $size, folded" "$(fmt1 "$med")" "ms" "median of $runs, min $(fmt1 "$mn"); $(fmt2 "$(calc "${SH[$q,spread]} / $med")")x faster than over $SHARDS shards"
    fi
  done
}
declare -A SH

shards_check() {
  # (Not state_digest of lib/common.sh: it checksums the event log's bodies in one string, which
  # passes 1 GB at 1M events.)
  views="SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
           SELECT 'd' || p::text AS x FROM stripe.payments_daily p UNION ALL SELECT 'm' || p::text FROM stripe.payments_monthly p
           UNION ALL SELECT 'c' || p::text FROM stripe.cohort_retention p UNION ALL SELECT 'f' || p::text FROM stripe.checkout_funnel_daily p
           UNION ALL SELECT 'r' || p::text FROM stripe.decline_reasons p UNION ALL SELECT 'p' || p::text FROM stripe.payment_method_mix p
           UNION ALL SELECT 'n' || p::text FROM stripe.new_customers_daily p UNION ALL SELECT 'R' || p::text FROM stripe.report() p) v"
  truth=$(val -d "$DB" -c "$views")
  log "spreading the aggregates of the $size-event state over $SHARDS shards"
  psqlq -d "$DB" > /dev/null <<SQL
-- the loading sessions' shards first: shard 0 holds everything, then it is spread
SELECT * FROM stripe.compact_aggregates();
\\i $ROOT/sql/include/spread_shards.sql
SELECT pg_temp.spread_shards(ARRAY(SELECT generate_series(1, $SHARDS - 1)));
VACUUM ANALYZE;
SQL
  agg_rows="SELECT sum(n) FROM (SELECT count(*) AS n FROM stripe.agg_payments UNION ALL SELECT count(*) FROM stripe.agg_checkout
              UNION ALL SELECT count(*) FROM stripe.agg_customers UNION ALL SELECT count(*) FROM stripe.agg_payments_days) x"
  spread_rows=$(val -d "$DB" -c "$agg_rows")
  same_spread=$([ "$(val -d "$DB" -c "$views")" = "$truth" ] && echo yes || echo NO)
  Q[checkout_funnel_daily]="SELECT * FROM stripe.checkout_funnel_daily"
  time_shard_queries spread
  t0=$(date +%s.%N)
  psqlq -d "$DB" -c "SELECT * FROM stripe.compact_aggregates()" > /dev/null
  t1=$(date +%s.%N)
  psqlq -d "$DB" -c "VACUUM ANALYZE"
  folded_rows=$(val -d "$DB" -c "$agg_rows")
  same_folded=$([ "$(val -d "$DB" -c "$views")" = "$truth" ] && echo yes || echo NO)
  emit "compact_aggregates @ $size" "$(fmt0 "$(calc "($t1 - $t0) * 1000")")" "ms" "$spread_rows rows of agg_payments, _days, _customers, _checkout folded into $folded_rows; every view as before spreading: $same_spread, after folding: $same_folded"
  time_shard_queries folded
  [ "$same_spread$same_folded" = yesyes ] || log "WARNING: the views changed when the aggregates were spread or folded"
}

declare -A MS MS_TIMEOUT
loaded=0
naive_seq=0
first_size=""
last_size=""
for size in $SIZES; do
  need=$((size / STEP))
  [ "$need" -ge 1 ] || die "size $size < step $STEP"
  if [ "$need" -gt "$loaded" ]; then
    t0=$(date +%s.%N)
    log "generating shops $((loaded + 1))..$need ($STEP events each)"
    gen_shops $((loaded + 1)) "$need"
    t1=$(date +%s.%N)
    log "ingesting them in $LS sessions (load $(load_now))"
    load_seeds $((loaded + 1)) "$need"
    t2=$(date +%s.%N)
    psqlq -d "$DB" -c "VACUUM ANALYZE"
    t3=$(date +%s.%N)
    emit "build $size: ingest $(( (need - loaded) * STEP )) events" "$(fmt0 "$(calc "($need - $loaded) * $STEP / ($t2 - $t1)")")" "ev/s" \
      "ingest_event, $LS sessions, $BATCH per transaction; generation $(fmt0 "$(calc "$t1 - $t0")") s (cached after the first run), vacuum $(fmt0 "$(calc "$t3 - $t2")") s"
    loaded=$need
  fi
  events=$(val -d "$DB" -c "SELECT count(*) FROM stripe.events")
  [ "$events" = "$((loaded * STEP))" ] || log "note: $events events logged for $((loaded * STEP)) generated"
  sizes_note=$(val -d "$DB" -c "SELECT format('%s charges, %s customers with payments, %s agg_payments rows; database %s',
      (SELECT count(*) FROM stripe.charges), (SELECT count(*) FROM stripe.customer_totals),
      (SELECT count(*) FROM stripe.agg_payments), pg_size_pretty(pg_database_size(current_database())))")

  # The period the dashboard shows: the last 90 days with a charge of the platform account, live.
  read -r p_to p_from as_of < <(val -d "$DB" -F ' ' -c "
    SELECT d, d - 89, (d + 1)::timestamp AT TIME ZONE stripe.reporting_timezone()
      FROM (SELECT max(day) AS d FROM stripe.payments_daily WHERE account IS NULL AND livemode
               AND successful_payments + failed_payments > 0) s" | awk '{ print $1, $2, $3 "T" $4 }')
  declare -A Q=(
    [payments_daily]="SELECT * FROM stripe.payments_daily WHERE day BETWEEN '$p_from' AND '$p_to'"
    [customer_rfm]="SELECT * FROM stripe.customer_rfm('$as_of')"
    [cohort_retention]="SELECT * FROM stripe.cohort_retention"
    [report]="SELECT * FROM stripe.report()"
    [payments_range]="SELECT * FROM stripe.payments('day', '$p_from', '$p_to')"
    [naive_payments_daily]="SELECT * FROM naive.payments_daily('$p_from', '$p_to')"
    [naive_customer_rfm]="SELECT * FROM naive.customer_rfm('$as_of')"
    [naive_cohort_retention]="SELECT * FROM naive.cohort_retention()"
    [naive_report]="SELECT naive.report('$p_from', '$p_to')"
  )

  do_naive=0
  if [ "$size" -le "$NAIVE_MAX" ]; then
    do_naive=1
    log "naive log: copying events after seq $naive_seq as jsonb"
    psqlq -d "$DB" -c "INSERT INTO naive.events SELECT id, type, extract(epoch FROM created)::bigint, body::jsonb
                         FROM stripe.events WHERE seq > $naive_seq ON CONFLICT DO NOTHING" -c "VACUUM ANALYZE naive.events"
    naive_seq=$(val -d "$DB" -c "SELECT max(seq) FROM stripe.events")
  fi

  log "$size events: timing (period $p_from .. $p_to; load $(load_now))"
  for q in payments_daily payments_range customer_rfm cohort_retention report \
           naive_payments_daily naive_customer_rfm naive_cohort_retention naive_report; do
    naive=0; [ "${q#naive_}" != "$q" ] && naive=1
    if [ $naive = 1 ]; then
      [ $do_naive = 1 ] || continue
      [ "$q" != naive_report ] || [ "$size" -le "$NAIVE_REPORT_MAX" ] || continue
    fi
    # One session: a first run (the cost in a new session: caches and plans cold), then the median
    # of REPEAT runs, or a single one when a run takes over a second. Naive: no warm-up.
    limit=$([ $naive = 1 ] && echo "$NAIVE_TIMEOUT" || echo "$TIMEOUT")
    if [ $naive = 1 ]; then runs=$([ -z "$first_size" ] && echo 3 || echo 1); else runs=$((REPEAT + 1)); fi
    timed_out=0
    out=$(time_q "${Q[$q]}" "$limit" "$runs" "$((1 - naive))") || timed_out=1
    first_ms=$(awk '$2 == 0 { print $3 }' <<< "$out")
    nrows=$(awk '$1 == "RUN" { n = $4 } END { print n }' <<< "$out")
    if [ $naive = 1 ]; then
      ms_list=$(awk '$1 == "RUN" { print $3 }' <<< "$out")
    else
      ms_list=$(awk '$1 == "RUN" && $2 > 0 { print $3 }' <<< "$out")
    fi
    if [ $timed_out = 1 ] && [ -z "$ms_list" ]; then
      MS[$q,$size]=$((limit * 1000)); MS_TIMEOUT[$q,$size]=1
      emit "$q @ $size" "> $((limit * 1000))" "ms" "cancelled after $limit s (BENCH_READS_$([ $naive = 1 ] && echo NAIVE_)TIMEOUT)${first_ms:+; first run in a new session $(fmt1 "$first_ms") ms}"
      continue
    fi
    read -r med mn runs <<< "$(median_min_n <<< "$ms_list")"
    MS[$q,$size]=$med
    emit "$q @ $size" "$(fmt1 "$med")" "ms" "$nrows rows; $([ "$runs" = 1 ] && echo "one run" || echo "median of $runs, min $(fmt1 "$mn")")$([ $naive = 0 ] && echo "; first run in a new session $(fmt1 "$first_ms") ms")"
  done
  emit "state @ $size" "$events" "events" "$sizes_note"
  for q in payments_daily customer_rfm cohort_retention report; do
    [ -n "${MS[naive_$q,$size]:-}" ] || continue
    if [ -n "${MS_TIMEOUT[$q,$size]:-}" ]; then
      emit "ratio naive / pg_stripe, $q @ $size" "?" "x" "a run was cancelled (timeout)"; continue
    fi
    if [ -n "${MS_TIMEOUT[naive_$q,$size]:-}" ]; then  # the naive run was cancelled: a lower bound
      emit "ratio naive / pg_stripe, $q @ $size" "> $(fmt0 "$(calc "${MS[naive_$q,$size]} / ${MS[$q,$size]}")")" "x" "the naive run was cancelled after $NAIVE_TIMEOUT s"; continue
    fi
    emit "ratio naive / pg_stripe, $q @ $size" "$(fmt0 "$(calc "${MS[naive_$q,$size]} / ${MS[$q,$size]}")")" "x" ""
  done

  # The dashboard's queries again with the server's own settings, as users run them (Debian:
  # jit = on; a PL/pgSQL loop never runs a plan in parallel): 0.3.1 lost 0.7 s per
  # cohort_retention read at 10M to JIT compiling, which the rows above, JIT off, did not show.
  jit_setting=$(val -d "$DB" -c "SHOW jit")
  for q in payments_daily cohort_retention report; do
    if ! out=$(time_q "${Q[$q]}" "$TIMEOUT" "$((REPEAT + 1))" 1 defaults); then
      emit "$q @ $size, server defaults" "> $((TIMEOUT * 1000))" "ms" "cancelled after $TIMEOUT s"; continue
    fi
    read -r med mn runs <<< "$(awk '$1 == "RUN" && $2 > 0 { print $3 }' <<< "$out" | median_min_n)"
    emit "$q @ $size, server defaults" "$(fmt1 "$med")" "ms" "jit = $jit_setting; median of $runs, min $(fmt1 "$mn"); the rows above: JIT and parallel query off"
  done

  if [ -z "$first_size" ] && [ $do_naive = 1 ]; then
    # Same figures? pg_stripe's rows against the naive ones, both ways.
    chk=$(val -d "$DB" <<SQL
WITH v AS (SELECT day, account, livemode, currency, successful_payments, failed_payments, gross_volume, refunded_amount,
                  disputes, net_volume FROM stripe.payments_daily WHERE day BETWEEN '$p_from' AND '$p_to'),
     n AS (SELECT * FROM naive.payments_daily('$p_from', '$p_to')),
     rv AS (SELECT account, livemode, customer, currency, payments, failed_payments, total_spent, refunded, last_payment_at,
                   r_score, f_score, m_score, segment FROM stripe.customer_rfm('$as_of')),
     rn AS (SELECT * FROM naive.customer_rfm('$as_of')),
     cv AS (SELECT * FROM stripe.cohort_retention),
     cn AS (SELECT * FROM naive.cohort_retention())
SELECT format('payments_daily %s/%s rows differ, customer_rfm %s/%s, cohort_retention %s/%s',
  (SELECT count(*) FROM (SELECT * FROM v EXCEPT ALL SELECT * FROM n) x) + (SELECT count(*) FROM (SELECT * FROM n EXCEPT ALL SELECT * FROM v) x), (SELECT count(*) FROM v),
  (SELECT count(*) FROM (SELECT * FROM rv EXCEPT ALL SELECT * FROM rn) x) + (SELECT count(*) FROM (SELECT * FROM rn EXCEPT ALL SELECT * FROM rv) x), (SELECT count(*) FROM rv),
  (SELECT count(*) FROM (SELECT * FROM cv EXCEPT ALL SELECT * FROM cn) x) + (SELECT count(*) FROM (SELECT * FROM cn EXCEPT ALL SELECT * FROM cv) x), (SELECT count(*) FROM cv))
SQL
)
    ok=$(echo "$chk" | grep -cE '^payments_daily 0/[0-9]+ rows differ, customer_rfm 0/[0-9]+, cohort_retention 0/[0-9]+$' || true)
    emit "naive = pg_stripe @ $size" "$([ "$ok" = 1 ] && echo yes || echo NO)" "" "$chk"
    [ "$ok" = 1 ] || log "WARNING: naive and pg_stripe figures differ: $chk"
  fi
  [ "$SHARDS" -le 1 ] || [ "$size" != "$SHARDS_AT" ] || shards_check
  [ -n "$first_size" ] || first_size=$size
  last_size=$size
done

# Targets: at the largest size, <= 2x the smallest and <= 50 ms.
if [ "$last_size" != "$first_size" ]; then
  for q in payments_daily customer_rfm cohort_retention report; do
    a=${MS[$q,$first_size]}; b=${MS[$q,$last_size]}
    r=$(calc "$b / $a")
    if [ -n "${MS_TIMEOUT[$q,$last_size]:-}" ]; then
      emit "target $q: $last_size vs $first_size" "> $(fmt0 "$r")" "x" "> $b ms (cancelled) vs $(fmt1 "$a") ms; target <= 2x and <= $TARGET_MS ms: MISSED"
      continue
    fi
    verdict=$(awk -v r="$r" -v b="$b" -v t="$TARGET_MS" 'BEGIN {
      m = ""; if (r > 2) m = m "x" sprintf("%.1f", r) " > 2x"; if (b > t) m = m (m ? ", " : "") sprintf("%.0f", b) " ms > " t " ms"
      print (m ? "MISSED (" m ")" : "met") }')
    emit "target $q: $last_size vs $first_size" "$(fmt2 "$r")" "x" "$(fmt1 "$b") ms vs $(fmt1 "$a") ms; target <= 2x and <= $TARGET_MS ms: $verdict"
  done
fi
log "done"
