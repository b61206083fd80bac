#!/usr/bin/env bash
# bench/peer.sh — section "peer" of `make bench`: pg_stripe against @supabase/stripe-sync-engine
# (pinned in bench/peer/package.json + package-lock.json), on the same server, fed the same signed
# deliveries one at a time from the same kind of Node client (bench/peer/feed.mjs):
#   pg_stripe  SELECT status FROM stripe.ingest(body, header, 'bench')   (prepared, autocommit)
#   peer       StripeSync.processWebhook(body, header): stripe-node verifies the signature, then
#              the library upserts the object; revalidateObjectsViaStripeApi = [],
#              backfillRelatedEntities = false, autoExpandLists = false, a dummy API key, a pool
#              of one connection (one session, like pg_stripe's).
# checkout.session.* events are left out of the stream for BOTH: the peer always lists the
# session's line items from Stripe's API (fillCheckoutSessionsLineItems), which fails offline
# ("An error occurred with our connection to Stripe. Request was retried 2 times.").
# Each side has its own database (the peer's migrations create a schema "stripe" too), with
# synchronous_commit = off. Afterwards the objects both keep are compared, key columns only.
# The client floor is the pg_stripe client with no work on the server (feed.mjs --mode floor: the
# same bodies and headers sent, `SELECT octet_length($1) + octet_length($2)`, one round trip and
# one transaction each): the peer's time over the floor's bounds the events/s ratio that any
# ingest, however cheap, can reach over the peer from one session of this client.
#
# pg_stripe batched is the same client handing BENCH_PEER_BATCH deliveries (default 100) to one
# statement, `stripe.ingest` over a VALUES list of the bodies and headers, one transaction per batch:
# what a receiver that groups the deliveries arriving together can do (the peer has no such
# path). It must answer every delivery as the one-at-a-time run did and end in the same rows.
#
# Environment: BENCH_PEER_N (deliveries, default 10000), BENCH_PEER_BATCH (default 100),
# BENCH_SHOP_COUNT / BENCH_SHOP_SEED.
set -euo pipefail
SECTION=peer
source "$(dirname "$0")/lib/common.sh"

N=${BENCH_PEER_N:-10000}
BATCH=${BENCH_PEER_BATCH:-100}
COUNT=${BENCH_SHOP_COUNT:-100000}
SEED=${BENCH_SHOP_SEED:-1}
if [ $((COUNT * 13 / 10)) -lt "$N" ]; then COUNT=$((N * 10 / 13 + 1000)); fi
PEER=$ROOT/bench/peer

if [ ! -d "$PEER/node_modules/@supabase/stripe-sync-engine" ]; then
  log "npm ci in bench/peer"
  (cd "$PEER" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
version=$(node -p "require('$PEER/node_modules/@supabase/stripe-sync-engine/package.json').version")

dir=$(shop "$COUNT" "$SEED")

for db in peer_pgstripe peer_sync peer_batch; do
  psqlq -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" -c "ALTER DATABASE $db SET synchronous_commit = off"
done
for db in peer_pgstripe peer_batch; do
  psqlq -d $db -c "CREATE EXTENSION pg_stripe" -c "SELECT stripe.create_endpoint('bench', '$SECRET', 86400)" > /dev/null
done

# Signed right before each run: stripe-node's default tolerance is 300 s.
run_side() {  # run_side MODE DB [--migrate]
  signed_rows "$dir/events.jsonl" "$WORK/peer_rows.copy" "$N" checkout.session.
  (cd "$PEER" && node feed.mjs --mode "$1" --rows "$WORK/peer_rows.copy" --db "$(pg_url "$2")" --secret "$SECRET" \
     ${3:-} --batch "$BATCH" --out "$WORK/peer_$1.json") >&2
}
log "pg_stripe: $N deliveries (load $(load_now))"
run_side pgstripe peer_pgstripe
log "stripe-sync-engine $version: migrations, then $N deliveries (load $(load_now))"
run_side peer peer_sync --migrate
log "client floor: $N deliveries, no work on the server (load $(load_now))"
run_side floor peer_pgstripe
log "pg_stripe batched: $N deliveries, $BATCH per statement (load $(load_now))"
run_side batch peer_batch

j() { node -p "const r = require('$WORK/peer_$1.json'); $2"; }
for m in pgstripe peer floor batch; do
  [ "$(j "$m" 'r.outcomes.error ?? 0')" = 0 ] || die "$m: $(j "$m" 'r.outcomes.error') deliveries failed: $(j "$m" 'r.first_error')"
done
skipped=$(node -e "
  let n = 0, k = 0;
  for (const l of require('fs').readFileSync('$dir/events.jsonl', 'utf8').split('\n')) {
    if (!l) continue;
    if (JSON.parse(l).type.startsWith('checkout.session.')) k++; else if (++n >= $N) break;
  }
  console.log(k)")

# Same rows? Key columns of the objects both keep, joined on id.
declare -A Q_OURS Q_PEER
Q_OURS[charges]="id, status, amount, amount_refunded, currency, customer, extract(epoch FROM created)::bigint"
Q_PEER[charges]="id, status, amount, amount_refunded, currency, customer, created"
Q_OURS[payment_intents]="id, status, amount, currency, customer"
Q_PEER[payment_intents]="id, status, amount, currency, customer"
Q_OURS[refunds]="id, status, amount, charge"
Q_PEER[refunds]="id, status, amount, charge"
Q_OURS[disputes]="id, status, amount, charge"
Q_PEER[disputes]="id, status, amount, charge"
Q_OURS[customers]="id, deleted, email"
Q_PEER[customers]="id, coalesce(deleted, false), email"
Q_OURS[invoices]="id, status, amount_paid, customer"
Q_PEER[invoices]="id, status::text, amount_paid, customer"
Q_OURS[subscriptions]="id, status, customer"
Q_PEER[subscriptions]="id, status::text, customer"
same_note=""; all_same=1
for t in charges payment_intents refunds disputes customers invoices subscriptions; do
  val -d peer_pgstripe -F '|' -c "SELECT ${Q_OURS[$t]} FROM stripe.$t ORDER BY id" > "$WORK/ours_$t"
  val -d peer_sync -F '|' -c "SELECT ${Q_PEER[$t]} FROM stripe.$t ORDER BY id" > "$WORK/peer_$t"
  read -r both diff only_ours only_peer < <(awk -F'|' '
    FNR == NR { a[$1] = $0; next }
    { if ($1 in a) { both++; if (a[$1] != $0) diff++; delete a[$1] } else only_peer++ }
    END { for (k in a) only_ours++; printf "%d %d %d %d\n", both, diff, only_ours, only_peer }' "$WORK/ours_$t" "$WORK/peer_$t")
  [ "$diff" = 0 ] || all_same=0
  if [ "$diff" = 0 ]; then same_note+="$t $both equal; "; else same_note+="$t $both, $diff DIFFER; "; fi
  [ "$only_ours" = 0 ] && [ "$only_peer" = 0 ] || same_note+="($t: $only_ours only in pg_stripe, $only_peer only in the peer) "
  if [ "$diff" != 0 ]; then
    log "$t: rows that differ (pg_stripe | peer), first 3:"
    awk -F'|' 'FNR == NR { a[$1] = $0; next } ($1 in a) && a[$1] != $0 { print "  " a[$1] "  |  " $0; if (++k == 3) exit }' \
      "$WORK/ours_$t" "$WORK/peer_$t" >&2
  fi
done
batch_same=1
for t in charges payment_intents refunds disputes customers invoices subscriptions; do
  val -d peer_batch -F '|' -c "SELECT ${Q_OURS[$t]} FROM stripe.$t ORDER BY id" > "$WORK/batch_$t"
  cmp -s "$WORK/ours_$t" "$WORK/batch_$t" || { batch_same=0; log "$t: the batched run's rows differ from the one-at-a-time run's"; }
done
counts='JSON.stringify(Object.entries(r.outcomes).sort())'
[ "$(j batch "$counts")" = "$(j pgstripe "$counts")" ] || batch_same=0
[ "$batch_same" = 1 ] || die "pg_stripe batched: outcomes $(j batch "$counts") or rows differ from the one-at-a-time run's ($(j pgstripe "$counts"))"
refunds_only=$(awk -F'|' 'FNR == NR { a[$1]; next } !($1 in a)' "$WORK/peer_refunds" "$WORK/ours_refunds" | wc -l)
refunds_note=""
[ "$refunds_only" = 0 ] || refunds_note=" (the $refunds_only refunds only in pg_stripe are known only from the refund list embedded in a charge, e.g. charge.expired: SPEC 2 keeps them, the peer does not)"

wall_o=$(j pgstripe r.wall_s); wall_p=$(j peer r.wall_s)
emit "deliveries" "$N" "" "stream of shop $COUNT/$SEED without checkout.session.* ($skipped left out: the peer calls Stripe's API for them); sync off"
for m in pgstripe peer; do
  label=$([ $m = pgstripe ] && echo "pg_stripe stripe.ingest" || echo "stripe-sync-engine $version")
  emit "$label" "$(fmt0 "$(calc "$N / $(j $m r.wall_s)")")" "ev/s" \
    "wall $(fmt1 "$(j $m r.wall_s)") s; backend CPU $(fmt1 "$(calc "$(j $m r.backend_cpu_s) * 1e6 / $N")") us/ev; node CPU $(fmt1 "$(calc "$(j $m r.node_cpu_s) * 1e6 / $N")") us/ev; $(j $m "Object.entries(r.outcomes).map(e => e.join(' ')).join(', ')")"
done
emit "ratio pg_stripe / peer, events/s" "$(fmt2 "$(calc "$wall_p / $wall_o")")" "x" \
  "wall clock; backend CPU per event: peer/pg_stripe $(fmt2 "$(calc "$(j peer r.backend_cpu_s) / $(j pgstripe r.backend_cpu_s)")") x; node+backend CPU: $(fmt2 "$(calc "($(j peer r.backend_cpu_s) + $(j peer r.node_cpu_s)) / ($(j pgstripe r.backend_cpu_s) + $(j pgstripe r.node_cpu_s))")") x"
emit "client floor: the same client, no work" "$(fmt0 "$(calc "$N / $(j floor r.wall_s)")")" "ev/s" \
  "wall $(fmt1 "$(j floor r.wall_s)") s; backend CPU $(fmt1 "$(calc "$(j floor r.backend_cpu_s) * 1e6 / $N")") us/ev; node CPU $(fmt1 "$(calc "$(j floor r.node_cpu_s) * 1e6 / $N")") us/ev; SELECT octet_length(body) + octet_length(header), one round trip per delivery"
emit "ceiling: client floor / peer, events/s" "$(fmt2 "$(calc "$wall_p / $(j floor r.wall_s)")")" "x" \
  "no ingest can exceed this ratio over the peer from this client: target >= 5x; pg_stripe reaches $(fmt0 "$(calc "100 * $(j floor r.wall_s) / $wall_o")")% of the floor's events/s"
emit "pg_stripe batched, $BATCH per transaction" "$(fmt0 "$(calc "$N / $(j batch r.wall_s)")")" "ev/s" \
  "wall $(fmt1 "$(j batch r.wall_s)") s; backend CPU $(fmt1 "$(calc "$(j batch r.backend_cpu_s) * 1e6 / $N")") us/ev; node CPU $(fmt1 "$(calc "$(j batch r.node_cpu_s) * 1e6 / $N")") us/ev; $(j batch "Object.entries(r.outcomes).map(e => e.join(' ')).join(', ')"): the same answers and rows as one at a time"
emit "ratio pg_stripe batched / peer, events/s" "$(fmt2 "$(calc "$wall_p / $(j batch r.wall_s)")")" "x" \
  "wall clock; a receiver that groups deliveries (the peer's processWebhook takes one); target >= 5x"
emit "same rows for objects both keep" "$([ $all_same = 1 ] && echo yes || echo NO)" "" \
  "rows compared by id: ${same_note% }$refunds_note"
log "done"
