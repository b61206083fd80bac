#!/usr/bin/env bash
# bench/memory.sh — section "memory" of `make bench`: the memory of one backend while it ingests
# N distinct events (the in-order streams of generated shops, seeds 1, 2, ...), one signed
# stripe.ingest per transaction (the psql driver of bench/lib/common.sh, synchronous_commit off),
# read from /proc/<backend pid>/status after 10,000 events and at the end (and at every tenth of
# the run):
#   VmHWM     peak resident set: what the issue's target is about (growth < 50 MB). It counts
#             the shared_buffers pages this backend has touched (RssShmem) as well as its private
#             memory: a backend that walks through more of the buffer pool grows without leaking.
#   RssAnon   the private (heap) memory at that moment: what a leak would grow.
# So that VmHWM's growth shows the backend's own memory and not how much of the buffer pool it
# has walked through so far, the session first reads a table as large as shared_buffers
# (pg_prewarm: every buffer page is then mapped in this backend, RssShmem is at its ceiling).
# Without that, VmHWM grows with every newly touched buffer up to shared_buffers (measured: +184
# MB over 40,000 events with shared_buffers = 1 GB, while RssAnon stayed at 8.5 MB);
# BENCH_MEMORY_PRETOUCH=0 shows it.
#
# Environment: BENCH_MEMORY_N (default 100000; the larger run: 1000000), BENCH_MEMORY_STEP
# (events per generated shop, default 100000).
set -euo pipefail
SECTION=memory
source "$(dirname "$0")/lib/common.sh"

N=${BENCH_MEMORY_N:-100000}
STEP=${BENCH_MEMORY_STEP:-100000}
FIRST=10000
TARGET_MB=50
DB=memory

seeds=$(( (N + STEP - 1) / STEP ))
: > "$WORK/mem_stream.jsonl"
for ((s = 1; s <= seeds; s++)); do cat "$(shop "$STEP" "$s" inorder)/events_inorder.jsonl" >> "$WORK/mem_stream.jsonl"; done
signed_rows "$WORK/mem_stream.jsonl" "$WORK/mem_rows.copy" "$N"
rm -f "$WORK/mem_stream.jsonl"
[ "$(wc -l < "$WORK/mem_rows.copy")" = "$N" ] || die "fewer than $N events"

psqlq -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psqlq -d "$DB" -c "CREATE EXTENSION pg_stripe" -c "SELECT stripe.create_endpoint('bench', '$SECRET', 86400)" > /dev/null
load_bodies "$DB" "$WORK/mem_rows.copy"
rm -f "$WORK/mem_rows.copy"
PRETOUCH=${BENCH_MEMORY_PRETOUCH:-1}
settings="SET synchronous_commit = off;"
if [ "$PRETOUCH" = 1 ]; then
  # 4 rows of 1800 B per 8 kB page (inline, uncompressed): 5% more pages than shared_buffers.
  psqlq -d "$DB" -c "CREATE UNLOGGED TABLE bench.filler WITH (autovacuum_enabled = off) AS
                       SELECT g, repeat('x', 1800) AS pad
                         FROM generate_series(1, (SELECT setting::bigint * 42 / 10 FROM pg_settings WHERE name = 'shared_buffers')) g"
  settings+=" SELECT pg_prewarm('bench.filler');"
fi
psqlq -d "$DB" -c CHECKPOINT

cps="$FIRST"
for ((k = 1; k <= 10; k++)); do cps+=" $((N * k / 10))"; done
log "one session: $N events, /proc/<pid>/status at $cps (load $(load_now))"
drive "$DB" mem "SELECT r.status FROM bench.bodies b CROSS JOIN LATERAL stripe.ingest(b.body, b.header, 'bench') r WHERE b.n = \$1" \
  0 $((N - 1)) 1 "$settings" "$cps"
r=$(drive_result mem)
got=$(val -d "$DB" -c "SELECT count(*) FROM stripe.events")
[ "$got" = "$N" ] || die "$got events logged of $N"

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
curve=""
for ((k = 1; k <= 10; k++)); do c=$((N * k / 10)); curve+="$((c / 1000))k $(mb "$(status_kb mem "$c" VmHWM)"), "; done
h0=$(status_kb mem $FIRST VmHWM); h1=$(status_kb mem "$N" VmHWM)
a0=$(status_kb mem $FIRST RssAnon); a1=$(status_kb mem "$N" RssAnon)
s0=$(status_kb mem $FIRST RssShmem); s1=$(status_kb mem "$N" RssShmem)
grow=$(calc "($h1 - $h0) / 1024")
emit "ingest $N events, one session" "$(fmt0 "$(calc "$N / ${r% *}")")" "ev/s" "backend CPU $(fmt1 "$(calc "${r#* } * 1e6 / $N")") us/ev; signed stripe.ingest, sync off"
emit "VmHWM after $FIRST events" "$(mb "$h0")" "MB" "RssAnon $(mb "$a0") MB, RssShmem $(mb "$s0") MB; $([ "$PRETOUCH" = 1 ] && echo "buffer pool pre-touched (shared_buffers $(val -d "$DB" -c 'SHOW shared_buffers'))" || echo "buffer pool NOT pre-touched")"
emit "VmHWM after $N events" "$(mb "$h1")" "MB" "RssAnon $(mb "$a1") MB, RssShmem $(mb "$s1") MB; VmHWM by events: ${curve%, }"
emit "VmHWM growth" "$(fmt1 "$grow")" "MB" "target < $TARGET_MB MB: $(awk -v g="$grow" -v t="$TARGET_MB" 'BEGIN { print (g < t ? "met" : "MISSED") }'); private memory (RssAnon) growth $(fmt1 "$(calc "($a1 - $a0) / 1024")") MB"
log "done"
