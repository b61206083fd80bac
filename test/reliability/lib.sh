# Helpers for test/reliability/run.sh (sourced). Throw-away clusters owned by `postgres` in
# $WORK, reachable only through a Unix socket in their own directory (listen_addresses=''), so
# concurrent runs never meet; each still gets a port nobody listens on.
PGBIN=${PGBIN:-$(pg_config --bindir)}
export PGTZ=UTC PGDATESTYLE=ISO PGUSER=postgres PGCONNECT_TIMEOUT=10
declare -A CL_DIR CL_PORT

as_pg() { runuser -u postgres -- "$@"; }

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && continue
    ls /tmp/.s.PGSQL.$p >/dev/null 2>&1 && continue
    echo "$p"; return
  done
}

# cluster_new NAME [postgresql.conf lines...]: initdb + start.
cluster_new() {
  local name=$1; shift
  local dir=$WORK/$name port
  port=$(free_port)
  mkdir -p "$dir"; chown postgres: "$dir"
  as_pg "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { echo "initdb $name failed"; cat "$dir/initdb.log"; return 1; }
  {
    echo "port = $port"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir'"
    echo "fsync = ${REL_FSYNC:-on}"
    echo "shared_buffers = 128MB"
    echo "log_line_prefix = '%m [%p] %e '"
    for l in "$@"; do echo "$l"; done
  } >>"$dir/data/postgresql.conf"
  CL_DIR[$name]=$dir; CL_PORT[$name]=$port
  cluster_start "$name"
}

cluster_start() {
  local name=$1 dir=${CL_DIR[$1]}
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 120 start >/dev/null
}

cluster_stop() {  # cluster_stop NAME [mode]
  local dir=${CL_DIR[$1]}
  [ -f "$dir/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m "${2:-fast}" -w stop >/dev/null 2>&1
  return 0
}

postmaster_pid() { head -1 "${CL_DIR[$1]}/data/postmaster.pid" 2>/dev/null; }

# q CLUSTER DB psql-args...: quiet, unaligned, stops on error.
q() {
  local c=$1 db=$2; shift 2
  psql -X -q -At -v ON_ERROR_STOP=1 -h "${CL_DIR[$c]}" -p "${CL_PORT[$c]}" -d "$db" "$@"
}
# qq CLUSTER DB psql-args...: same, errors reported but not fatal.
qq() {
  local c=$1 db=$2; shift 2
  psql -X -q -At -h "${CL_DIR[$c]}" -p "${CL_PORT[$c]}" -d "$db" "$@"
}

new_db() {  # new_db CLUSTER DB [extension...]
  local c=$1 db=$2; shift 2
  q "$c" postgres -c "CREATE DATABASE $db" || return 1
  local e; for e in "$@"; do q "$c" "$db" -c "SET client_min_messages = warning; CREATE EXTENSION $e" || return 1; done
}

wait_ready() {  # wait_ready CLUSTER SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    "$PGBIN/pg_isready" -q -h "${CL_DIR[$1]}" -p "${CL_PORT[$1]}" && q "$1" postgres -c "SELECT 1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# fingerprint CLUSTER DB > file: one line "relation rows md5" per object table (whole rows),
# per view (endpoint_status aside: it shows creation times), for the event log (everything but
# arrival order, time and endpoint), customer_rfm at a fixed as_of and stripe.report() when it
# exists. The sharded agg_* tables are compared through the views that sum them; of
# customer_totals the rows that are not all zero (incremental maintenance may leave a zero row
# where a rebuild writes none; no view shows them). Read-only, so it runs on a hot standby too.
fingerprint() {
  local c=$1 db=$2 sql
  sql=$(q "$c" "$db" <<'SQL'
SELECT string_agg(q, E'\nUNION ALL ' ORDER BY n) FROM (
  SELECT c.relname::text AS n,
         format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM stripe.%I t',
                c.relname, c.relname) AS q
    FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
   WHERE s.nspname = 'stripe' AND c.relkind IN ('r', 'v')
     AND c.relname NOT IN ('events', 'endpoints', 'rejected_deliveries', 'account_access', 'endpoint_status')
     AND c.relname NOT LIKE 'agg\_%' AND c.relname <> 'customer_totals'
  UNION ALL
  SELECT 'customer_totals', $q$SELECT 'customer_totals', count(*), md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM stripe.customer_totals t WHERE (payments, failed_payments, total_spent, refunded) <> (0, 0, 0, 0)$q$
  UNION ALL
  SELECT 'events', $q$SELECT 'events', count(*), md5(coalesce(string_agg(concat_ws('|', id, type, created, livemode, account, api_version, object_type, object_id, body::text), E'\n' ORDER BY id), '')) FROM stripe.events$q$
  UNION ALL
  SELECT 'customer_rfm', $q$SELECT 'customer_rfm(2030-01-01)', count(*), md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM stripe.customer_rfm('2030-01-01') t$q$
  UNION ALL
  SELECT 'report', $q$SELECT 'report()', count(*), md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM stripe.report() t$q$
   WHERE EXISTS (SELECT 1 FROM pg_proc p WHERE p.pronamespace = 'stripe'::regnamespace
                    AND p.proname = 'report' AND p.pronargs = p.pronargdefaults)
) x
SQL
) || return 1
  q "$c" "$db" -F ' ' -c "$sql"
}

# compare_fp LABEL_A FILE_A LABEL_B FILE_B: prints a one-line summary or the differing relations.
compare_fp() {
  if diff -q "$2" "$4" >/dev/null; then
    echo "    $1 == $3: $(wc -l <"$2") relations equal ($(awk '{printf "%s%s=%s", (NR>1?", ":""), $1, $2}' "$2"))"
    return 0
  fi
  echo "    $1 != $3; differing relations (name rows md5):"
  diff <(sort "$2") <(sort "$4") | grep '^[<>]' | sed 's/^/      /'
  return 1
}

# deliver CLUSTER DB SESSION_DIR OUT_PREFIX: runs every SESSION_DIR/s*.sql in its own psql
# session, concurrently; output lines "<U|S> <status> <event id or reason>" to OUT_PREFIX.<i>.out,
# errors (with SQLSTATE) to OUT_PREFIX.<i>.err. Returns when all sessions have ended.
deliver_start() {
  local c=$1 db=$2 dir=$3 out=$4 f i=0
  DELIVER_PIDS=()
  for f in "$dir"/s*.sql; do
    psql -X -At -F ' ' -h "${CL_DIR[$c]}" -p "${CL_PORT[$c]}" -d "$db" -f "$f" >"$out.$i.out" 2>"$out.$i.err" &
    DELIVER_PIDS+=($!)
    i=$((i + 1))
  done
}
deliver_wait() { local p; for p in "${DELIVER_PIDS[@]}"; do wait "$p"; done; DELIVER_PIDS=(); }

# ingest_script CLUSTER DB FILE: runs a sessions.mjs script in one session and prints the count
# of each status, e.g. "accepted=10862 duplicate=3 ".
ingest_script() {
  q "$1" "$2" -F ' ' -f "$3" | awk '{n[$2]++} END {for (k in n) printf "%s=%d ", k, n[k]}'
}

# summarize_delivery OUT_PREFIX: "accepted=.. duplicate=.. rejected=.. (signed ..) errors=.." and
# the error lines grouped by SQLSTATE in $OUT_PREFIX.errors.
summarize_delivery() {
  local out=$1
  cat "$out".*.out | awk '
    { n[$2]++; if ($1 == "S") s[$2]++ }
    END { printf "accepted=%d duplicate=%d rejected=%d (of which via signed stripe.ingest: accepted=%d duplicate=%d rejected=%d)",
                 n["accepted"], n["duplicate"], n["rejected"], s["accepted"], s["duplicate"], s["rejected"] }'
  cat "$out".*.err | grep -E 'ERROR|FATAL|PANIC|server closed|connection' | sed -E 's/^psql:[^:]*:[0-9]+: //' >"$out.errors" || true
  echo " client_errors=$(wc -l <"$out.errors")"
}

# log_crash_lines CLUSTER: lines of the server log that mean a backend crashed.
log_crash_lines() {
  grep -E 'terminated by signal|was terminated by exception|PANIC|TRAP:|server process .* exited with exit code [^01]' \
    "${CL_DIR[$1]}/log" 2>/dev/null || true
}

# catalog_dump CLUSTER DB: the schema `stripe` as sorted text lines, one per catalog fact:
# columns, constraints, indexes, functions (full definition, owner-independent), views, triggers,
# policies, RLS flags, types, sequences, grants (ACLs), comments, extension membership and
# config-dump marks. Two installations are the same schema iff their dumps are equal.
catalog_dump() {
  q "$1" "$2" <<'SQL'
WITH s AS (SELECT oid FROM pg_namespace WHERE nspname = 'stripe'),
rels AS (SELECT c.* FROM pg_class c, s WHERE c.relnamespace = s.oid),
ext AS (SELECT oid FROM pg_extension WHERE extname = 'pg_stripe')
SELECT line FROM (
  SELECT format('relation %s kind=%s rls=%s force_rls=%s acl=%s options=%s', c.relname, c.relkind,
                c.relrowsecurity, c.relforcerowsecurity, c.relacl, c.reloptions) FROM rels c
  UNION ALL
  SELECT format('column %s.%s %s notnull=%s default=%s identity=%s generated=%s collation=%s acl=%s', c.relname, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity,
                a.attgenerated, a.attcollation, a.attacl)
    FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  UNION ALL
  SELECT format('column-order %s %s', c.relname, string_agg(a.attname, ',' ORDER BY a.attnum))
    FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped GROUP BY c.relname
  UNION ALL
  SELECT format('constraint %s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
    FROM pg_constraint k JOIN rels c ON c.oid = k.conrelid
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(i.indexrelid)) FROM pg_index i JOIN rels c ON c.oid = i.indrelid
  UNION ALL
  SELECT format('view %s %s', c.relname, regexp_replace(pg_get_viewdef(c.oid), '\s+', ' ', 'g')) FROM rels c WHERE c.relkind IN ('v', 'm')
  UNION ALL
  SELECT format('function %s %s acl=%s secdef=%s config=%s', p.oid::regprocedure, md5(pg_get_functiondef(p.oid)),
                p.proacl, p.prosecdef, p.proconfig)
    FROM pg_proc p, s WHERE p.pronamespace = s.oid AND p.prokind IN ('f', 'p', 'w')
  UNION ALL
  SELECT format('aggregate %s', p.oid::regprocedure) FROM pg_proc p, s WHERE p.pronamespace = s.oid AND p.prokind = 'a'
  UNION ALL
  SELECT format('trigger %s', pg_get_triggerdef(t.oid)) FROM pg_trigger t JOIN rels c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal
  UNION ALL
  SELECT format('policy %s.%s cmd=%s permissive=%s roles=%s using=%s check=%s', c.relname, p.polname, p.polcmd,
                p.polpermissive, p.polroles::regrole[], pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
    FROM pg_policy p JOIN rels c ON c.oid = p.polrelid
  UNION ALL
  SELECT format('type %s %s acl=%s', t.typname, t.typtype, t.typacl) FROM pg_type t, s
   WHERE t.typnamespace = s.oid AND t.typtype <> 'b' AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind <> 'c')
  UNION ALL
  SELECT format('comment %s %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), md5(d.description))
    FROM pg_description d
   WHERE (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM rels))
      OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT p.oid FROM pg_proc p, s WHERE p.pronamespace = s.oid))
      OR (d.classoid = 'pg_type'::regclass AND d.objoid IN (SELECT t.oid FROM pg_type t, s WHERE t.typnamespace = s.oid))
  UNION ALL
  SELECT format('schema acl=%s owner-is-extension-owner=%s', n.nspacl, n.nspowner = e.extowner)
    FROM pg_namespace n, pg_extension e WHERE n.nspname = 'stripe' AND e.extname = 'pg_stripe'
  UNION ALL
  SELECT format('extension-member %s', pg_describe_object(d.classid, d.objid, d.objsubid))
    FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
  UNION ALL
  SELECT format('config-dump %s condition=%L', c::regclass, cond)
    FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, cond) WHERE e.extname = 'pg_stripe'
  UNION ALL
  SELECT format('extension relocatable=%s schema=%s', e.extrelocatable, e.extnamespace::regnamespace)
    FROM pg_extension e WHERE e.extname = 'pg_stripe'
) x(line) ORDER BY line COLLATE "C";
SQL
}

# schema_md5 CLUSTER DB: one md5 of catalog_dump (to notice the installed extension changing
# under a run: another `make install` in the same machine).
schema_md5() { catalog_dump "$1" "$2" | md5sum | cut -c1-32; }

# schema_check CLUSTER DB: warns when the database's pg_stripe schema is not the one the
# reference database got at setup (someone ran `make install` during this run): comparisons
# between the two are then not meaningful.
schema_check() {
  local m; m=$(schema_md5 "$1" "$2")
  [ -z "${REF_SCHEMA:-}" ] || [ "$m" = "$REF_SCHEMA" ] && return 0
  echo "    NOTE: the pg_stripe schema of $1/$2 differs from the reference's: the installed extension changed during this run"
  return 1
}

# rebuild_compare CLUSTER DB LABEL: stripe.rebuild() in a copy of DB (CREATE DATABASE ...
# TEMPLATE: DB must have no other session), then compares the copy's fingerprint with DB's.
rebuild_compare() {
  local c=$1 db=$2 label=$3 t0=$SECONDS n rc=0
  q "$c" postgres -c "CREATE DATABASE ${db}_rb TEMPLATE $db" || return 1
  if n=$(q "$c" "${db}_rb" -c "SELECT stripe.rebuild()" 2>"$WORK/${db}_rb.err"); then
    fingerprint "$c" "$db" >"$WORK/$db.live.fp" && fingerprint "$c" "${db}_rb" >"$WORK/$db.rb.fp" || rc=1
    compare_fp "$label" "$WORK/$db.live.fp" "stripe.rebuild() of a copy ($n events replayed in $((SECONDS - t0)) s)" \
      "$WORK/$db.rb.fp" | sed 's/: \([0-9]*\) relations equal (.*/: \1 relations equal/' || rc=1
    if [ $rc -ne 0 ]; then  # the differing rows of the first differing tables and views
      local rel
      for rel in $(diff "$WORK/$db.live.fp" "$WORK/$db.rb.fp" | awk '/^[<>]/ && $2 ~ /^[a-z_]+$/ && $2 != "events" {print $2}' | sort -u | head -3); do
        echo "      $rel, live (<) vs rebuilt (>):"
        diff <(q "$c" "$db" -c "SELECT t::text FROM stripe.$rel t ORDER BY 1") <(q "$c" "${db}_rb" -c "SELECT t::text FROM stripe.$rel t ORDER BY 1") \
          | grep '^[<>]' | head -6 | cut -c1-220 | sed 's/^/        /'
      done
    fi
  else
    rc=1
    echo "    stripe.rebuild() of a copy failed after $((SECONDS - t0)) s: $(grep -E '^(ERROR|HINT)' "$WORK/${db}_rb.err" | paste -sd' ' -)"
  fi
  q "$c" postgres -c "DROP DATABASE ${db}_rb"
  return $rc
}
