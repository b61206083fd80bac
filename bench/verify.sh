#!/usr/bin/env bash
# bench/verify.sh — the signature-verification section of `make bench`.
#
# Run inside a throw-away cluster (bench/run.sh does `pg_virtualenv ... bash bench/verify.sh`):
#  1. a fresh database with pg_stripe and pgcrypto;
#  2. a table of $BENCH_VERIFY_ROWS Stripe event bodies, 1-4 KB (uniform), built from the object
#     shapes in $BENCH_FIXTURES, each with a valid `t=...,v1=...` header signed in SQL by pgcrypto;
#  3. full scans, each timed with clock_timestamp() around EXECUTE, after a warm-up scan, table
#     in shared_buffers, no parallel workers, no JIT, interleaved, median of $BENCH_REPEAT:
#       baseline  sum(octet_length(payload) + octet_length(header))      (subtracted)
#       verify    count(*) FILTER (WHERE stripe.verify_signature(...))   (asserted = N)
#       pgcrypto  count(*) FILTER (WHERE bench_user_verify(...))         (asserted = N)
#     per-call cost = (scan - baseline) / N;
#  4. the same payloads exported (\copy) to a file and hashed by bench/bare_hmac ($BENCH_BARE_HMAC):
#     bare OpenSSL HMAC-SHA256 (reused context, key per message), one-shot HMAC(), pgstripe::sign_hex.
# Writes its table rows to $BENCH_RESULTS/verify.tsv: label TAB value TAB unit TAB note.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${BENCH_VERIFY_ROWS:-100000}
REPEAT=${BENCH_REPEAT:-5}
# Stripe's fixtures3.json (every object shape of the API) when this machine has it; else the
# repository's subset of it (8 shapes: same envelope, fewer distinct bodies).
FIXTURES=${BENCH_FIXTURES:-/work/shared/stripe/fixtures3.json}
[ -r "$FIXTURES" ] || FIXTURES=$PWD/test/fixtures/stripe_objects.json
RESULTS=${BENCH_RESULTS:-$(mktemp -d)}
WORK=${BENCH_WORK:-$(mktemp -d)}
BARE=${BENCH_BARE_HMAC:-}
DB=${BENCH_DB:-pg_stripe_bench}
SECRET='whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
AT='2024-06-20 12:00:00+00'
TOLERANCE=300

[ -r "$FIXTURES" ] || { echo "verify.sh: fixtures not readable: $FIXTURES" >&2; exit 1; }
mkdir -p "$RESULTS" "$WORK"
log() { echo "[verify] $*" >&2; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v rows="$ROWS" -v repeat="$REPEAT" -v secret="$SECRET"
      -v at="$AT" -v tolerance="$TOLERANCE")

log "building $ROWS signed events from $(basename "$FIXTURES")"
t0=$SECONDS
"${PSQL[@]}" -v fixtures_path="$FIXTURES" <<'SQL'
\set fixtures `cat :'fixtures_path'`
CREATE EXTENSION pg_stripe;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION pg_prewarm;
SET max_parallel_workers_per_gather = 0;
SET bench.rows = :'rows';  -- custom GUCs: psql variables do not reach inside $$ ... $$
SELECT setseed(0.4242) \g /dev/null

-- One event envelope per fixture object, like the body of a "<object>.updated" webhook, with
-- placeholders of the final lengths (evt_ id, created, req_ id, idempotency key) and an empty
-- data.previous_attributes.metadata.note that pads each body to its target size.
CREATE TEMP TABLE shapes AS
WITH e AS (
  SELECT key AS name,
         jsonb_build_object(
           'id', 'evt_' || repeat('0', 24),
           'object', 'event',
           'api_version', '2024-06-20',
           'created', 1700000000,
           'data', jsonb_build_object('object', value,
                                      'previous_attributes', jsonb_build_object('metadata', jsonb_build_object('note', ''))),
           'livemode', false,
           'pending_webhooks', 1,
           'request', jsonb_build_object('id', 'req_' || repeat('0', 14),
                                         'idempotency_key', '00000000-0000-0000-0000-000000000000'),
           'type', (value->>'object') || '.updated') AS ev
  FROM jsonb_each(coalesce((:'fixtures')::jsonb -> 'resources', (:'fixtures')::jsonb))
  WHERE jsonb_typeof(value) = 'object' AND value ? 'object'
)
SELECT row_number() OVER (ORDER BY octet_length(jsonb_pretty(ev)), name) AS rn, name, ev,
       octet_length(jsonb_pretty(ev)) AS len
FROM e;

CREATE TABLE bench_events (id int PRIMARY KEY, t bigint NOT NULL, payload text NOT NULL, header text NOT NULL);
-- Stored inline and uncompressed (a body is at most 4 KB + header: fits a page): the scans then
-- measure the functions, not pglz decompression or TOAST fetches, which would hit every variant.
ALTER TABLE bench_events ALTER payload SET STORAGE PLAIN, ALTER header SET STORAGE PLAIN;

-- Target size uniform in [1024, 4096] bytes; the shape is one of the 20 largest that fit, padded
-- with the note (few bodies are mostly padding).
INSERT INTO bench_events
SELECT i, t, payload,
       't=' || t || ',v1=' || encode(hmac(t::text || '.' || payload, :'secret', 'sha256'), 'hex')
         || CASE WHEN i % 4 = 0 THEN ',v0=' || md5(i::text) || md5(t::text) ELSE '' END
FROM (
  SELECT r.i, r.t,
         jsonb_pretty(jsonb_set(
           s.ev || jsonb_build_object(
                     'id', 'evt_1' || substr(md5('evt' || r.i), 1, 23),
                     'created', r.t,
                     'request', jsonb_build_object('id', 'req_' || substr(md5('req' || r.i), 1, 14),
                                                   'idempotency_key', gen_random_uuid()::text)),
           '{data,previous_attributes,metadata,note}',
           to_jsonb(substr(repeat('Order ' || r.i || ': 2x Widget (blue), gift wrap, deliver after 5pm. ', 80),
                           1, r.size - s.len)))) AS payload
  FROM (
    SELECT i, size, extract(epoch FROM :'at'::timestamptz)::bigint - (i % 250) AS t,
           greatest(1, nfit - 19 + floor(random() * least(nfit, 20))::int) AS k
    FROM (SELECT i, size, width_bucket(size, (SELECT array_agg(len ORDER BY rn) FROM shapes)) AS nfit
          FROM (SELECT i, greatest((SELECT min(len) FROM shapes), 1024 + floor(random() * 3073)::int) AS size FROM generate_series(1, :rows) i) g) g2
  ) r
  JOIN shapes s ON s.rn = r.k
) x;

DO $$
DECLARE lo int; hi int; n bigint; nshapes int;
BEGIN
  SELECT min(octet_length(payload)), max(octet_length(payload)), count(*), count(DISTINCT payload::jsonb->'data'->'object'->>'object')
    INTO lo, hi, n, nshapes FROM bench_events;
  IF n <> current_setting('bench.rows')::bigint THEN
    RAISE EXCEPTION 'row count %', n;
  END IF;
  IF lo < 1024 OR hi > 4096 THEN RAISE EXCEPTION 'payload sizes % .. % outside 1-4 KB', lo, hi; END IF;
  IF EXISTS (SELECT FROM bench_events WHERE pg_column_compression(payload) IS NOT NULL)
     OR pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE oid = 'bench_events'::regclass)) > 0 THEN
    RAISE EXCEPTION 'bodies are compressed or TOASTed: the scans would measure detoasting';
  END IF;
  RAISE NOTICE 'bodies: % rows, % .. % bytes, % object types', n, lo, hi, nshapes;
END $$;

VACUUM (FREEZE, ANALYZE) bench_events;
CHECKPOINT;

-- The way a user would write it with pgcrypto: split the header, pick t and the v1s, HMAC
-- "t.payload" with the secret, hex-encode, compare, check the age.
CREATE FUNCTION bench_user_verify(payload text, header text, secret text, tolerance int, at timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
  part text;
  ts text;
  sigs text[] := '{}';
  expected text;
BEGIN
  IF payload IS NULL OR header IS NULL OR secret IS NULL THEN
    RETURN NULL;
  END IF;
  FOREACH part IN ARRAY string_to_array(header, ',') LOOP
    CONTINUE WHEN position('=' IN part) = 0;
    IF split_part(part, '=', 1) = 't' THEN
      ts := substr(part, 3);
    ELSIF split_part(part, '=', 1) = 'v1' THEN
      sigs := sigs || substr(part, 4);
    END IF;
  END LOOP;
  IF ts IS NULL OR ts !~ '^[+-]?[0-9]{1,18}$' OR cardinality(sigs) = 0 THEN
    RETURN false;
  END IF;
  expected := encode(hmac(ts::bigint::text || '.' || payload, secret, 'sha256'), 'hex');
  IF NOT expected = ANY (sigs) THEN
    RETURN false;
  END IF;
  RETURN tolerance <= 0 OR floor(extract(epoch FROM at))::bigint - ts::bigint <= tolerance;
END
$fn$;

CREATE FUNCTION bench_time(q text, OUT ms float8, OUT val bigint) LANGUAGE plpgsql AS $fn$
DECLARE t0 timestamptz;
BEGIN
  t0 := clock_timestamp();
  EXECUTE q INTO val;
  ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$fn$;
SQL
log "table built in $((SECONDS - t0)) s"

log "timing full scans: warm-up, then $REPEAT interleaved rounds"
"${PSQL[@]}" -A -t -F $'\t' > "$WORK/verify_sql.tsv" <<'SQL'
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET bench.repeat = :'repeat';
SELECT pg_prewarm('bench_events') \g /dev/null

CREATE TEMP TABLE q(k int, name text, sql text, expect bigint);
INSERT INTO q VALUES
 (1, 'baseline', 'SELECT sum(octet_length(payload) + octet_length(header)) FROM bench_events', NULL),
 (2, 'verify',   format('SELECT count(*) FILTER (WHERE stripe.verify_signature(payload, header, %L::text, %s, %L::timestamptz)) FROM bench_events',
                        :'secret', :'tolerance', :'at'), :rows),
 (3, 'pgcrypto', format('SELECT count(*) FILTER (WHERE bench_user_verify(payload, header, %L::text, %s, %L::timestamptz)) FROM bench_events',
                        :'secret', :'tolerance', :'at'), :rows);
CREATE TEMP TABLE runs(round int, k int, ms float8, val bigint);

DO $$
DECLARE r record; m record; nrep int := current_setting('bench.repeat')::int;
BEGIN
  FOR round IN 0 .. nrep LOOP          -- round 0 is the warm-up, not counted
    FOR r IN SELECT * FROM q ORDER BY k LOOP
      m := bench_time(r.sql);
      IF r.expect IS NOT NULL AND m.val IS DISTINCT FROM r.expect THEN
        RAISE EXCEPTION '% returned % true of % rows', r.name, m.val, r.expect;
      END IF;
      INSERT INTO runs VALUES (round, r.k, m.ms, m.val);
    END LOOP;
  END LOOP;
END $$;

SELECT q.name, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), min(ms), max(ms), (SELECT count(*) FROM bench_events),
       (SELECT avg(octet_length(payload)) FROM bench_events)
FROM runs JOIN q USING (k) WHERE round > 0 GROUP BY q.k, q.name ORDER BY q.k;
SQL
cat "$WORK/verify_sql.tsv" >&2

if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  # Optional: sample the backend (perf record -p) over 3 verify_signature scans.
  log "BENCH_PERF=1: profiling the backend during verify_signature scans"
  "${PSQL[@]}" <<SQL
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SELECT pg_backend_pid() AS bpid \gset
\setenv BPID :bpid
\! perf record -q -e cpu-clock -F 2000 -g -p \$BPID -o "$WORK/perf.data" >/dev/null 2>&1 & echo \$! > "$WORK/perf.pid"; sleep 1
SELECT count(*) FILTER (WHERE stripe.verify_signature(payload, header, :'secret'::text, 300, :'at'::timestamptz)) FROM bench_events \g /dev/null
SELECT count(*) FILTER (WHERE stripe.verify_signature(payload, header, :'secret'::text, 300, :'at'::timestamptz)) FROM bench_events \g /dev/null
SELECT count(*) FILTER (WHERE stripe.verify_signature(payload, header, :'secret'::text, 300, :'at'::timestamptz)) FROM bench_events \g /dev/null
\! kill -INT \$(cat "$WORK/perf.pid"); sleep 2
SQL
  ( set +o pipefail; echo "== by shared object"; perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8
    echo "== top symbols (libcrypto's SHA-256 block code is unnamed: summed above)"
    perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
      | grep -E '^ +[0-9]' | grep -v 'libcrypto.so.3 *\[.\] 0x' | head -25 | sed 's/  *- *- *$//'
  ) | tee "$RESULTS/verify_perf.txt" >&2
fi

log "exporting payloads for bare HMAC"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" \
  -c "\\copy (SELECT t, encode(convert_to(payload, 'UTF8'), 'hex'), header FROM bench_events ORDER BY id) TO '$WORK/payloads.tsv'"
if [ -n "$BARE" ]; then
  log "bare HMAC over the same payloads: $BARE"
  "$BARE" "$WORK/payloads.tsv" "$SECRET" "$REPEAT" > "$WORK/bare.tsv"
  cat "$WORK/bare.tsv" >&2
else
  : > "$WORK/bare.tsv"
fi
rm -f "$WORK/payloads.tsv"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" || true

# Table rows, in µs per call: medians of $REPEAT (best-of in the notes; this is a shared VM).
awk -F'\t' -v OFS='\t' -v repeat="$REPEAT" '
  FNR == NR { ms[$1] = $2; mn[$1] = $3; n = $5; bytes = $6; next }   # verify_sql.tsv: median, min ms
  /^#/ { next }
  { bare[$1] = $2 / 1000; bmn[$1] = $3 / 1000 }                       # bare.tsv: ns -> us
  END {
    base = ms["baseline"] * 1000 / n
    v = (ms["verify"] - ms["baseline"]) * 1000 / n
    p = (ms["pgcrypto"] - ms["baseline"]) * 1000 / n
    vb = (mn["verify"] - mn["baseline"]) * 1000 / n
    pb = (mn["pgcrypto"] - mn["baseline"]) * 1000 / n
    printf "rows, mean body size\t%d\t%.0f B\tStripe event bodies 1-4 KB, signed t=...,v1=...\n", n, bytes
    printf "baseline scan (subtracted)\t%.3f\tus/row\tsum(octet_length(payload)+octet_length(header)), median of %d\n", base, repeat
    printf "stripe.verify_signature\t%.3f\tus/call\t(scan - baseline) / N, all true; best-of: %.3f\n", v, vb
    printf "pgcrypto PL/pgSQL\t%.3f\tus/call\tsplit header, hmac(), hex, compare; all true; best-of: %.3f\n", p, pb
    best = ""
    if ("evp_mac_reused" in bare) {
      best = bare["evp_mac_reused"] < bare["hmac_ctx_reused"] ? "evp_mac_reused" : "hmac_ctx_reused"
      printf "bare HMAC-SHA256, best way\t%.3f\tus/call\t%s (EVP_MAC %.3f, HMAC_CTX %.3f); best-of: %.3f\n", bare[best], best, bare["evp_mac_reused"], bare["hmac_ctx_reused"], bmn[best]
      printf "bare HMAC() one-shot\t%.3f\tus/call\tHMAC(EVP_sha256(), ...), OpenSSL 3\n", bare["hmac_oneshot"]
      printf "bare HMAC, key schedule cached\t%.3f\tus/call\tlower bound: EVP_MAC_init(NULL key)\n", bare["evp_mac_key_cached"]
      printf "pgstripe::sign_hex (C++)\t%.3f\tus/call\tour HMAC + hex, no Postgres\n", bare["pgstripe_sign_hex"]
      printf "pgstripe::verify (C++)\t%.3f\tus/call\twhole decision, no Postgres\n", bare["pgstripe_verify"]
    }
    r1 = p / v
    printf "ratio pgcrypto / verify_signature\t%.2f\tx\ttarget >= 2x: %s; best-of: %.2f\n", r1, (r1 >= 2 ? "met" : "MISSED"), pb / vb
    if (best != "") {
      r2 = v / bare[best]
      printf "ratio verify_signature / bare HMAC\t%.2f\tx\ttarget <= 1.5x: %s; best-of: %.2f\n", r2, (r2 <= 1.5 ? "met" : "MISSED"), vb / bmn[best]
      printf "ratio pgcrypto / bare HMAC\t%.2f\tx\tfor reference\n", p / bare[best]
    }
  }' "$WORK/verify_sql.tsv" "$WORK/bare.tsv" > "$RESULTS/verify.tsv"
log "done"
