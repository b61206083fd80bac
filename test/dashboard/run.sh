#!/usr/bin/env bash
# Dashboard suite: stripe.dashboard_html() and stripe.report() over a generated shop, the page
# rendered by headless Chromium.
#   1. a shop: tools/shopgen.mjs if present, else test/dashboard/gen_shop.mjs (same options);
#   2. on its own throw-away cluster (pg_virtualenv -t): the events ingested with
#      stripe.ingest_event, the report and the dashboard written to test/dashboard/out/;
#   3. the page checked as text (self-contained, escaped) and in Chromium: it loads without a
#      console message or a failed load, its DOM holds the charts, and a screenshot is saved
#      (out/dashboard.png: the top 1400x3000; out/dashboard_full.png: the whole page).
# Needs the extension installed (make install) and Debian's chromium (installed if missing).
# Prints "N passed, M failed" last; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/test/dashboard/out

# Re-run inside a throw-away cluster. pg_virtualenv can lose a race for a port with another
# cluster starting at the same moment: try again a few times when the script never started.
if [ -z "${DASHBOARD_IN_VENV:-}" ]; then
  if ! command -v chromium >/dev/null; then
    echo "dashboard: installing chromium"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  fi
  mkdir -p "$OUT"
  for try in 1 2 3 4 5; do
    rm -f "$OUT/.started"
    DASHBOARD_IN_VENV=1 pg_virtualenv -t "$ROOT/test/dashboard/run.sh" "$@"
    rc=$?
    [ -f "$OUT/.started" ] && { rm -f "$OUT/.started"; exit $rc; }
    echo "dashboard: the throw-away cluster did not start (try $try), again"
    sleep $((try * 2))
  done
  echo "0 passed, 1 failed"
  exit 1
fi
touch "$OUT/.started"

passed=0; failed=0
check() {  # check NAME COMMAND...: one test
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok - $name"
  else failed=$((failed + 1)); echo "not ok - $name"; fi
}
finish() { echo; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

# 1. The shop.
# DASHBOARD_GEN=test/dashboard/gen_shop.mjs forces the small generator (it has a hostile decline code).
if [ -n "${DASHBOARD_GEN:-}" ]; then GEN=$DASHBOARD_GEN
elif [ -f tools/shopgen.mjs ]; then GEN=tools/shopgen.mjs; else GEN=test/dashboard/gen_shop.mjs; fi
check "generate a shop with $GEN" node "$GEN" --customers 300 --months 6 --seed 7 --out "$WORK/shop"
[ -s "$WORK/shop/events.jsonl" ] || finish

# 2. Ingest, report, dashboard.
check "create extension" "${PSQL[@]}" -c "CREATE EXTENSION pg_stripe" || finish
# COPY in CSV mode with quote and delimiter bytes that JSON never holds raw: one line, one row,
# backslashes untouched.
"${PSQL[@]}" -At > "$WORK/ingest.txt" <<SQL
CREATE TEMP TABLE raw (n bigint GENERATED ALWAYS AS IDENTITY, line text);
\copy raw (line) FROM '$WORK/shop/events.jsonl' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
SELECT r.status || ' ' || count(*) FROM raw, LATERAL stripe.ingest_event(raw.line) r GROUP BY r.status ORDER BY 1;
SQL
echo "ingest: $(tr '\n' ' ' < "$WORK/ingest.txt")"
check "every event accepted (or a duplicate delivery)" \
  bash -c "grep -q '^accepted [1-9]' '$WORK/ingest.txt' && ! grep -qv -e '^accepted ' -e '^duplicate ' '$WORK/ingest.txt'"

"${PSQL[@]}" -At -c "select * from stripe.report()" > "$OUT/report.txt"
check "report: written" test -s "$OUT/report.txt"
check "report: a section per currency, with figures" \
  bash -c "grep -q '^━━ USD ' '$OUT/report.txt' && grep -q '^  gross volume  ' '$OUT/report.txt' && grep -q '^Cohort retention' '$OUT/report.txt'"
# wc -L: the display width of the widest line (the block characters are one column wide)
check "report: no line wider than 100 columns ($(LC_ALL=C.UTF-8 wc -L < "$OUT/report.txt"))" \
  test "$(LC_ALL=C.UTF-8 wc -L < "$OUT/report.txt")" -le 100

"${PSQL[@]}" -At -c "select stripe.dashboard_html()" > "$OUT/dashboard.html"
H=$OUT/dashboard.html
check "dashboard: written" test -s "$H"
check "dashboard: no script" bash -c "! grep -qi '<script' '$H'"
check "dashboard: no URL of any kind (http://, https://, url()" bash -c "! grep -qiE 'https?://|url\\(' '$H'"
check "dashboard: nothing that loads (link, img, iframe, src=, href=, @import)" \
  bash -c "! grep -qiE '<(link|img|iframe|object|embed)|<[^>]* (src|href)=|@import|@font-face' '$H'"
check "dashboard: charts inline" bash -c "[ \$(grep -o '<svg ' '$H' | wc -l) -ge 10 ]"

# 3. Chromium. Its own profile; no network features; logging to stderr to catch console
# messages (the page has no script, so there must be none) and failed loads.
chrome() {
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-default-apps --hide-scrollbars \
    --user-data-dir="$(mktemp -d -p "$WORK")" --enable-logging=stderr --v=0 "$@"
}
# Control: the log does show console messages of a page (else the check below proves nothing).
printf '<!DOCTYPE html><p>x</p><script>console.log("control"); throw new Error("boom")</script>' > "$WORK/control.html"
chrome --dump-dom "file://$WORK/control.html" > /dev/null 2> "$WORK/control.log"
check "chromium: console messages reach the log (control page)" grep -q 'CONSOLE.*Uncaught Error: boom' "$WORK/control.log"
chrome --screenshot="$OUT/dashboard.png" --window-size=1400,3000 "file://$H" > "$WORK/shot.out" 2> "$OUT/chromium.log"
check "chromium: screenshot taken" bash -c "[ \$(stat -c %s '$OUT/dashboard.png' 2>/dev/null || echo 0) -gt 50000 ]"
chrome --dump-dom "file://$H" > "$OUT/dom.html" 2>> "$OUT/chromium.log"
check "chromium: no console message, no failed load" \
  bash -c "! grep -E 'CONSOLE|Uncaught|net::ERR_|Failed to load|Refused to' '$OUT/chromium.log'"
count() { grep -o "$1" "$OUT/dom.html" | wc -l; }
svgs=$(count '<svg '); rects=$(count '<rect '); paths=$(count '<path '); texts=$(count '<text '); titles=$(count '<title>')
echo "dom: $svgs svg, $rects rect, $paths path, $texts text, $titles title"
check "chromium DOM: the charts (>= 10 svg, >= 300 rect, >= 8 path, >= 300 text)" \
  test "$svgs" -ge 10 -a "$rects" -ge 300 -a "$paths" -ge 8 -a "$texts" -ge 300
check "chromium DOM: every chart kind (volume, failure rate, declines, refunds and disputes, customers, RFM, cohorts, funnel)" \
  bash -c "for t in 'Gross volume per day' 'Failure rate per week' 'Top decline reasons' 'Refunds and disputes per week' \
                    'New and returning customers per week' 'RFM segments' 'Cohort retention' 'Checkout funnel'; do
             grep -q \"<h3>\$t</h3>\" '$OUT/dom.html' || { echo \"missing: \$t\"; exit 1; }; done"
check "chromium DOM: header shows account, mode and time zone" \
  bash -c "grep -q 'Account <b>platform (own account)</b>' '$OUT/dom.html' && grep -q 'class=\"badge live\">LIVE' '$OUT/dom.html' && grep -q 'Time zone <b>UTC</b>' '$OUT/dom.html'"
check "chromium DOM: no element a data string could have injected" bash -c "! grep -qiE '<(img|script|iframe)' '$OUT/dom.html'"

# The whole page too, for people to look at: about 1,750 px per section.
sections=$(grep -o '<section>' "$H" | wc -l)
chrome --screenshot="$OUT/dashboard_full.png" --window-size=1400,$((250 + 1750 * sections)) "file://$H" > /dev/null 2>> "$OUT/chromium.log"
check "chromium: full-page screenshot" test -s "$OUT/dashboard_full.png"

# An account without data: a page that says so, and loads as cleanly.
"${PSQL[@]}" -At -c "select stripe.dashboard_html(account => 'acct_none')" > "$OUT/dashboard_empty.html"
chrome --screenshot="$OUT/dashboard_empty.png" --window-size=1400,700 "file://$OUT/dashboard_empty.html" > /dev/null 2> "$WORK/empty.log"
check "empty dashboard: says so and renders cleanly" \
  bash -c "grep -q 'No payments in this period.' '$OUT/dashboard_empty.html' && test -s '$OUT/dashboard_empty.png' && ! grep -qE 'CONSOLE|Uncaught|net::ERR_' '$WORK/empty.log'"

echo "screenshots: $OUT/dashboard.png, $OUT/dashboard_full.png, $OUT/dashboard_empty.png"
finish
