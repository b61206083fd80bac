# bench/lib/common.sh: helpers shared by the benchmark sections (sourced, not run).
#
# A section runs inside a throw-away cluster (bench/run.sh: pg_virtualenv -t), with the PG*
# variables set, and writes its table rows to $BENCH_RESULTS/<section>.tsv through `emit`.
#
# Durability: every timed run states its synchronous_commit. The drivers below measure wall
# clock AND the CPU time of the server backend(s) doing the work (utime+stime from
# /proc/<pid>/stat, clock ticks): this machine is shared, and wall clock alone is noisy.

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RESULTS=${BENCH_RESULTS:-$(mktemp -d)}
WORK=${BENCH_WORK:-$(mktemp -d)}
# Generated shops are deterministic (count, seed, generator version): cached across runs.
DATA=${BENCH_DATA:-${TMPDIR:-/tmp}/pg_stripe_bench_data}
SECRET='whsec_pgstripe_bench_0123456789abcdef'
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$RESULTS" "$WORK" "$DATA"
chmod 755 "$WORK" 2>/dev/null || true

log() { echo "[$SECTION] $*" >&2; }
die() { echo "[$SECTION] FAILED: $*" >&2; exit 1; }

# emit LABEL VALUE UNIT NOTE: one row of the section's table.
emit() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$RESULTS/$SECTION.tsv"; }

psqlq() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
val() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# Arithmetic on decimals: calc 'EXPR' (awk).
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
fmt0() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
fmt1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
fmt2() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }

# shop COUNT SEED [inorder]: directory with events_inorder.jsonl (COUNT distinct events, by
# created) and events.jsonl (the same delivered 1-3 times, shuffled within 10 minutes; not with
# `inorder`), generated once by tools/shopgen.mjs and cached in $DATA (key: count, seed, hash of
# the generator). SHOP_DIR overrides the cache directory (bench/reads.sh: throw-away shops).
shop() {
  local count=$1 seed=$2 need=${3:-both} gen_hash dir
  gen_hash=$(sha256sum "$ROOT/tools/shopgen.mjs" | cut -c1-10)
  dir=${SHOP_DIR:-$DATA}/shop_${gen_hash}_c${count}_s${seed}
  if [ -e "$dir/done" ] || { [ "$need" = inorder ] && [ -e "$dir/done_inorder" ]; }; then
    echo "$dir"; return
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  node "$ROOT/tools/shopgen.mjs" --count "$count" --seed "$seed" --out "$dir" \
    $([ "$need" = inorder ] && echo --no-deliveries) 2>"$dir/shopgen.log" >&2 \
    || { cat "$dir/shopgen.log" >&2; die "shopgen --count $count --seed $seed"; }
  touch "$dir/done_$need"
  [ "$need" = inorder ] || touch "$dir/done"
  echo "$dir"
}

# signed_rows JSONL OUT [LIMIT] [SKIP_TYPES]: COPY text rows `n TAB body TAB header`, each body
# signed in advance with $SECRET at t = now (bench/lib/bodies.mjs).
signed_rows() {
  node "$ROOT/bench/lib/bodies.mjs" --in "$1" --secret "$SECRET" --t "$(date +%s)" --limit "${3:-0}" \
    ${4:+--skip-types "$4"} > "$2"
}

# load_bodies DB FILE: bench.bodies(n, body, header) from signed_rows output. Bodies are stored
# inline and uncompressed (1-4 KB: a body fits a page), so fetching one costs an index probe and
# no decompression: the drivers below measure the function they call, not the fetch.
load_bodies() {
  psqlq -d "$1" <<SQL
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
CREATE SCHEMA IF NOT EXISTS bench;
CREATE TABLE bench.bodies (n int PRIMARY KEY, body text NOT NULL, header text NOT NULL);
ALTER TABLE bench.bodies ALTER body SET STORAGE PLAIN, ALTER header SET STORAGE PLAIN;
\copy bench.bodies FROM '$2'
VACUUM (ANALYZE) bench.bodies;
SELECT pg_prewarm('bench.bodies') \g /dev/null
SQL
}

# cpu_ticks PID: utime+stime of a process in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# drive DB NAME SQL FIRST LAST [STEP] [SETTINGS] [CHECKPOINTS]
#   One session (psql) that PREPAREs `SQL` (one parameter: the body number n) and EXECUTEs it
#   for n = FIRST, FIRST+STEP, ... <= LAST, each statement its own transaction (autocommit).
#   SETTINGS: SQL run first (e.g. SET synchronous_commit = off). CHECKPOINTS: space-separated
#   counts of statements after which the backend's /proc/<pid>/status is saved (memory).
#   Writes $WORK/drive_NAME.{pid,t0,t1,c0,c1,status_K}; with $DRIVE_GO set, waits for that file
#   to exist before the first statement (several sessions start together) after touching
#   $WORK/drive_NAME.ready.
drive_script() {
  local name=$1 sql=$2 first=$3 last=$4 step=${5:-1} settings=${6:-} checkpoints=${7:-}
  local w="$WORK/drive_$name"
  {
    echo "SELECT pg_backend_pid() AS bpid \\gset"
    echo "\\setenv BPID :bpid"
    echo "SET application_name = 'bench_$name';"
    [ -n "$settings" ] && echo "$settings"
    echo "PREPARE p(int) AS $sql;"
    echo "\\! echo \$BPID > '$w.pid'"
    if [ -n "${DRIVE_GO:-}" ]; then
      echo "\\! touch '$w.ready'; while [ ! -e '$DRIVE_GO' ]; do sleep 0.01; done"
    fi
    echo "\\! date +%s.%N > '$w.t0'; awk '{ print \$14 + \$15 }' /proc/\$BPID/stat > '$w.c0'; cat /proc/\$BPID/status > '$w.status_0'"
    awk -v first="$first" -v last="$last" -v step="$step" -v cps="$checkpoints" -v w="$w" 'BEGIN {
      n = split(cps, c, " "); for (i = 1; i <= n; i++) at[c[i]] = 1
      k = 0
      for (x = first; x <= last; x += step) {
        printf "EXECUTE p(%d);\n", x
        k++
        if (k in at) printf "\\! cat /proc/$BPID/status > %s.status_%d\n", w, k
      }
    }'
    echo "\\! date +%s.%N > '$w.t1'; awk '{ print \$14 + \$15 }' /proc/\$BPID/stat > '$w.c1'; cat /proc/\$BPID/status > '$w.status_end'"
  } > "$w.sql"
}
drive() {
  local db=$1; shift
  drive_script "$@"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -o /dev/null -f "$WORK/drive_$1.sql" \
    || die "driver $1 failed (see above)"
}
# drive_result NAME -> "wall_seconds cpu_seconds"
drive_result() {
  local w="$WORK/drive_$1"
  awk -v t0="$(cat "$w.t0")" -v t1="$(cat "$w.t1")" -v c0="$(cat "$w.c0")" -v c1="$(cat "$w.c1")" -v hz="$CLK_TCK" \
    'BEGIN { printf "%.3f %.3f\n", t1 - t0, (c1 - c0) / hz }'
}
# status_kb NAME K FIELD: a field (VmHWM, VmRSS, RssAnon, RssShmem, ...) of the saved status, kB.
status_kb() { awk -v f="$3:" '$1 == f { print $2 }' "$WORK/drive_$1.status_$2"; }

# Same session count, several psql drivers started together: drive_parallel DB NAME SQL N S
# [SETTINGS]: session s runs n = s, s+S, ... < N. Prints "wall cpu_sum".
drive_parallel() {
  local db=$1 name=$2 sql=$3 n=$4 s=$5 settings=${6:-} i pids=()
  export DRIVE_GO="$WORK/go_$name"
  rm -f "$DRIVE_GO"
  for ((i = 0; i < s; i++)); do
    rm -f "$WORK/drive_${name}_$i.ready"
    drive_script "${name}_$i" "$sql" "$i" "$((n - 1))" "$s" "$settings"
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -o /dev/null -f "$WORK/drive_${name}_$i.sql" &
    pids+=($!)
  done
  for ((i = 0; i < s; i++)); do
    while [ ! -e "$WORK/drive_${name}_$i.ready" ]; do sleep 0.02; done
  done
  touch "$DRIVE_GO"
  local ok=1
  for p in "${pids[@]}"; do wait "$p" || ok=0; done
  unset DRIVE_GO
  [ $ok = 1 ] || die "a session of $name failed"
  local t0=1e18 t1=0 cpu=0 r
  for ((i = 0; i < s; i++)); do
    r=$(drive_result "${name}_$i")
    t0=$(awk -v a="$t0" -v b="$(cat "$WORK/drive_${name}_$i.t0")" 'BEGIN { print (b < a ? b : a) }')
    t1=$(awk -v a="$t1" -v b="$(cat "$WORK/drive_${name}_$i.t1")" 'BEGIN { print (b > a ? b : a) }')
    cpu=$(awk -v a="$cpu" -v b="${r#* }" 'BEGIN { print a + b }')
  done
  awk -v t0="$t0" -v t1="$t1" -v c="$cpu" 'BEGIN { printf "%.3f %.3f\n", t1 - t0, c }'
}

# The object tables and views of pg_stripe as one checksum per relation (row order fixed):
# equal checksums = equal contents. Columns that depend on arrival (events.seq, received_at)
# or on which transactions ran at once (aggregate shards) are left out; aggregates are compared through the views.
state_digest() {
  val -d "$1" <<'SQL'
SELECT string_agg(t || ' ' || d, E'\n' ORDER BY t) FROM (
  SELECT 'events' t, md5(string_agg(id || type || created || body::text, ',' ORDER BY id)) d FROM stripe.events
  UNION ALL SELECT 'charges', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM stripe.charges x
  UNION ALL SELECT 'payment_intents', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM stripe.payment_intents x
  UNION ALL SELECT 'refunds', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM stripe.refunds x
  UNION ALL SELECT 'disputes', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM stripe.disputes x
  UNION ALL SELECT 'customers', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM stripe.customers x
  UNION ALL SELECT 'checkout_sessions', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM stripe.checkout_sessions x
  UNION ALL SELECT 'subscriptions', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM stripe.subscriptions x
  UNION ALL SELECT 'subscription_items', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM stripe.subscription_items x
  UNION ALL SELECT 'invoices', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM stripe.invoices x
  UNION ALL SELECT 'customer_totals', md5(string_agg(x::text, ',' ORDER BY x::text)) FROM stripe.customer_totals x
  UNION ALL SELECT 'payments_daily', md5(string_agg(x::text, ',' ORDER BY x::text)) FROM stripe.payments_daily x
  UNION ALL SELECT 'decline_reasons', md5(string_agg(x::text, ',' ORDER BY x::text)) FROM stripe.decline_reasons x
  UNION ALL SELECT 'payment_method_mix', md5(string_agg(x::text, ',' ORDER BY x::text)) FROM stripe.payment_method_mix x
  UNION ALL SELECT 'new_customers_daily', md5(string_agg(x::text, ',' ORDER BY x::text)) FROM stripe.new_customers_daily x
  UNION ALL SELECT 'checkout_funnel_daily', md5(string_agg(x::text, ',' ORDER BY x::text)) FROM stripe.checkout_funnel_daily x
  UNION ALL SELECT 'cohort_retention', md5(string_agg(x::text, ',' ORDER BY x::text)) FROM stripe.cohort_retention x
) s
SQL
}

# pg_url DB: a connection URL for Node clients (they do not read the Debian cluster config that
# tells psql the port).
pg_url() {
  local port host=${PGHOST:-localhost}
  port=$(val -d postgres -c "SHOW port")
  if [ "${host#/}" != "$host" ]; then
    echo "postgresql://${PGUSER:-$(id -un)}@/$1?host=$host&port=$port"
  else
    echo "postgresql://${PGUSER:-$(id -un)}${PGPASSWORD:+:$PGPASSWORD}@$host:$port/$1"
  fi
}

# The machine, for the table's notes.
load_now() { cut -d' ' -f1 /proc/loadavg; }
