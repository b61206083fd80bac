-- Reporting (SPEC §4): stripe.report() and stripe.dashboard_html() over a small fixed shop:
-- 12 customers, 84 USD and 10 JPY charges (failures with a hostile failure code), refunds that
-- count and that do not, an open, a lost and a warning dispute, 30 Checkout sessions, and data
-- that must stay out (test mode, another connected account).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_stripe CASCADE;
CREATE EXTENSION pg_stripe;
RESET client_min_messages;
SET stripe.timezone = 'UTC';

-- ev(id, type, object [, envelope extras]) -> event jsonb; the event is created 5 s after its object.
CREATE FUNCTION pg_temp.ev(id text, type text, obj jsonb, extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('id', id, 'object', 'event', 'api_version', '2024-06-20', 'type', type,
         'created', (obj->>'created')::bigint + 5, 'livemode', true, 'data', jsonb_build_object('object', obj)) || extra $$;
CREATE FUNCTION pg_temp.ts(t timestamptz) RETURNS bigint LANGUAGE sql AS $$ SELECT extract(epoch FROM t)::bigint $$;
-- charge(id, created, currency, amount, customer, status [, failure_code, outcome.reason, brand])
CREATE FUNCTION pg_temp.charge(id text, created timestamptz, cur text, amount bigint, cust text, status text,
                               code text DEFAULT NULL, reason text DEFAULT NULL, brand text DEFAULT 'visa')
RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('id', id, 'object', 'charge', 'created', pg_temp.ts(created), 'status', status,
         'amount', amount, 'amount_captured', CASE WHEN status = 'succeeded' THEN amount ELSE 0 END,
         'amount_refunded', 0, 'currency', cur, 'customer', cust, 'captured', status = 'succeeded',
         'failure_code', code,
         'outcome', jsonb_build_object('type', CASE WHEN status = 'succeeded' THEN 'authorized' ELSE 'issuer_declined' END,
                                       'reason', reason),
         'payment_method_details', jsonb_build_object('type', 'card', 'card', jsonb_build_object('brand', brand))) $$;

SET client_min_messages = warning;
-- Twelve customers, one every 8 days from 2023-12-15.
SELECT count(*) AS customers FROM (
  SELECT stripe.ingest_event(pg_temp.ev('evt_cus_' || i, 'customer.created',
           jsonb_build_object('id', 'cus_' || lpad(i::text, 2, '0'), 'object', 'customer',
                              'created', pg_temp.ts('2023-12-15 10:00Z'::timestamptz + (i - 1) * interval '8 days'),
                              'email', 'c' || i || '@example.com')))
    FROM generate_series(1, 12) i) s;
-- 84 USD charges from 2023-12-17 to 2024-03-31, each by a customer that exists by then; every 7th fails,
-- two of them with a hostile failure code.
SELECT count(*) AS usd_charges FROM (
  SELECT stripe.ingest_event(pg_temp.ev('evt_ch_' || i, CASE WHEN i % 7 = 0 THEN 'charge.failed' ELSE 'charge.succeeded' END,
           pg_temp.charge('ch_' || lpad(i::text, 3, '0'),
                          '2023-12-16 09:00Z'::timestamptz + (i * 106 / 84) * interval '1 day' + (i % 11) * interval '1 hour',
                          'usd', 1000 + (i * 731) % 9000,
                          -- mostly the newest customers (older ones drift away); cus_01 keeps buying
                          'cus_' || lpad((CASE WHEN i % 6 = 0 THEN 1
                                               ELSE least(12, 1 + (i * 106 / 84) / 8) - (i * i * 7) % least(12, 1 + (i * 106 / 84) / 8, 4)
                                          END)::text, 2, '0'),
                          CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'succeeded' END,
                          CASE WHEN i % 7 = 0 THEN (ARRAY['card_declined', 'card_declined', 'expired_card', 'card_declined', 'card_declined', '<img src=x onerror=alert(1)>'])[1 + (i / 7) % 6] END,
                          CASE WHEN i % 7 = 0 THEN (ARRAY['insufficient_funds', 'insufficient_funds', 'expired_card', 'insufficient_funds', 'generic_decline', 'highest_risk_level'])[1 + (i / 7) % 6] END,
                          (ARRAY['visa', 'mastercard', 'amex'])[1 + i % 3])))
    FROM generate_series(1, 84) i) s;
-- 10 JPY charges (zero-decimal) in February and March, one failed.
SELECT count(*) AS jpy_charges FROM (
  SELECT stripe.ingest_event(pg_temp.ev('evt_jp_' || i, CASE WHEN i = 5 THEN 'charge.failed' ELSE 'charge.succeeded' END,
           pg_temp.charge('ch_jp' || i, '2024-02-01 03:00Z'::timestamptz + i * interval '5 days', 'jpy', 1500 * i,
                          'cus_' || lpad((3 + i % 4)::text, 2, '0'), CASE WHEN i = 5 THEN 'failed' ELSE 'succeeded' END,
                          CASE WHEN i = 5 THEN 'card_declined' END, CASE WHEN i = 5 THEN 'do_not_honor' END)))
    FROM generate_series(1, 10) i) s;
-- Refunds: two count; an expired authorization and a pending refund do not; a late one.
SELECT (stripe.ingest_event(pg_temp.ev(e, 'refund.created', jsonb_build_object('id', r, 'object', 'refund',
          'created', pg_temp.ts(t), 'amount', a, 'currency', c, 'charge', ch, 'status', s, 'reason', rs)))).status
  FROM (VALUES ('evt_re1', 're_1', '2024-02-10 12:00Z'::timestamptz, 2000, 'usd', 'ch_040', 'succeeded', 'requested_by_customer'),
               ('evt_re2', 're_2', '2024-03-20 12:00Z', 500, 'usd', 'ch_070', 'succeeded', 'duplicate'),
               ('evt_re3', 're_3', '2024-03-21 12:00Z', 900, 'usd', 'ch_071', 'succeeded', 'expired_uncaptured_charge'),
               ('evt_re4', 're_4', '2024-03-22 12:00Z', 700, 'usd', 'ch_072', 'pending', NULL),
               ('evt_re5', 're_5', '2024-03-25 12:00Z', 3000, 'jpy', 'ch_jp2', 'succeeded', 'requested_by_customer'),
               -- weeks after the last sale: does not move the default period (which ends on the last charge)
               ('evt_re6', 're_6', '2024-04-20 12:00Z', 1000, 'usd', 'ch_080', 'succeeded', 'requested_by_customer'))
       AS v(e, r, t, a, c, ch, s, rs);
-- Disputes: one open, one lost (opened, then closed), an early-fraud warning that does not count.
SELECT (stripe.ingest_event(pg_temp.ev(e, ty, jsonb_build_object('id', d, 'object', 'dispute',
          'created', pg_temp.ts(t), 'amount', a, 'currency', 'usd', 'charge', ch, 'status', s, 'reason', 'fraudulent'),
          jsonb_build_object('created', pg_temp.ts(t) + ec)))).status
  FROM (VALUES ('evt_dp1', 'charge.dispute.created', 'dp_1', '2024-03-01 08:00Z'::timestamptz, 5386, 'ch_055', 'needs_response', 5),
               ('evt_dp2', 'charge.dispute.created', 'dp_2', '2024-02-05 08:00Z', 3193, 'ch_032', 'needs_response', 5),
               ('evt_dp2c', 'charge.dispute.closed', 'dp_2', '2024-02-05 08:00Z', 3193, 'ch_032', 'lost', 864000),
               ('evt_dp3', 'charge.dispute.created', 'dp_3', '2024-03-10 08:00Z', 1000, 'ch_060', 'warning_needs_response', 5))
       AS v(e, ty, d, t, a, ch, s, ec);
-- 30 Checkout sessions from 2024-01-02, one every 3 days: 3 of 5 complete and paid, 1 expired, 1 still open.
SELECT count(*) AS sessions FROM (
  SELECT stripe.ingest_event(pg_temp.ev('evt_cs_' || i, 'checkout.session.' || (ARRAY['completed', 'completed', 'completed', 'expired', 'created'])[1 + i % 5],
           jsonb_build_object('id', 'cs_' || i, 'object', 'checkout.session',
                              'created', pg_temp.ts('2024-01-02 15:00Z'::timestamptz + i * interval '3 days'),
                              'status', (ARRAY['complete', 'complete', 'complete', 'expired', 'open'])[1 + i % 5],
                              'payment_status', (ARRAY['paid', 'paid', 'paid', 'unpaid', 'unpaid'])[1 + i % 5],
                              'mode', 'payment', 'currency', 'usd', 'amount_total', 2500)))
    FROM generate_series(0, 29) i) s;
-- Never in the live platform report: a test-mode charge and a connected account's charge.
SELECT (stripe.ingest_event(pg_temp.ev('evt_test', 'charge.succeeded',
          pg_temp.charge('ch_test', '2024-03-30 10:00Z', 'usd', 99999900, 'cus_01', 'succeeded'), '{"livemode": false}'))).status;
SELECT (stripe.ingest_event(pg_temp.ev('evt_acct', 'charge.succeeded',
          pg_temp.charge('ch_acct', '2024-04-15 10:00Z', 'eur', 4200, 'cus_X', 'succeeded'), '{"account": "acct_1Other"}'))).status;
RESET client_min_messages;

-- The figures the report must agree with (§3 views) for the default period 2024-01-02 .. 2024-03-31.
SELECT currency, sum(successful_payments) AS succeeded, sum(failed_payments) AS failed,
       stripe._fmt_money(sum(gross_volume), currency) AS gross, stripe._fmt_money(sum(refunded_amount), currency) AS refunded,
       stripe._fmt_money(sum(net_volume), currency) AS net
  FROM stripe.payments_daily
 WHERE account IS NULL AND livemode AND day BETWEEN '2024-01-02' AND '2024-03-31'
 GROUP BY currency ORDER BY currency;

-- The whole report, default period: the 90 days up to the latest live platform data (2024-03-31),
-- not up to today.
SELECT * FROM stripe.report();

-- Every line of every variant fits a 100-column terminal, even with a 300-character account id.
SELECT v, max(length(l)) AS widest, max(length(l)) <= 100 AS fits
  FROM (VALUES ('default', NULL::text, true, NULL::text), ('jpy only', NULL, true, 'jpy'), ('test mode', NULL, false, NULL),
               ('connected account', 'acct_1Other', true, NULL), ('long account id', repeat('x', 300), true, NULL)) AS t(v, a, lm, c),
       LATERAL stripe.report('2023-10-01', '2024-04-30', a, lm, c) AS l
 GROUP BY v ORDER BY v;
SELECT max(length(l)) <= 100 AS fits FROM stripe.report() AS l;

-- Test-mode and other accounts' data never show in the live platform report, and vice versa.
SELECT count(*) FILTER (WHERE l LIKE '%999,999.00%') AS test_mode_amount,
       count(*) FILTER (WHERE l LIKE '%EUR%') AS other_account_currency
  FROM stripe.report() AS l;
SELECT l FROM stripe.report(livemode => false) AS l WHERE l LIKE '  gross volume %' OR l LIKE '  mode%';
SELECT l FROM stripe.report(account => 'acct_1Other') AS l WHERE l LIKE '  gross volume %' OR l LIKE '  account%' OR l LIKE '  period%';

-- One currency; an explicit period; nothing in the period; an account without any data (says
-- where there is data).
SELECT l FROM stripe.report(currency => 'JPY') AS l WHERE l LIKE '━━%';
SELECT l FROM stripe.report('2024-02-01', '2024-02-29') AS l WHERE l LIKE '  period%' OR l LIKE '  gross volume  %' OR l LIKE '  succeeded%';
SELECT l FROM stripe.report(to_date => '2024-04-30', currency => 'usd') AS l
 WHERE l LIKE '  period%' OR l LIKE '  refund%' OR l LIKE '  2024-04-%';
SELECT * FROM stripe.report('2023-01-01', '2023-01-31');
SELECT * FROM stripe.report('2024-01-01', '2024-01-31', account => 'acct_nobody');
\set VERBOSITY terse
SELECT * FROM stripe.report('2024-03-01', '2024-01-01');
\set VERBOSITY default

-- Days are calendar days in stripe.timezone: in Seoul the last charge (2024-03-31 16:00 UTC) falls
-- on 2024-04-01, so the default period moves by a day.
SET stripe.timezone = 'Asia/Seoul';
SELECT l FROM stripe.report() AS l WHERE l LIKE '  mode%' OR l LIKE '  period%' OR l LIKE '  gross volume  %';
SET stripe.timezone = 'UTC';

-- The helpers.
SELECT stripe._bar(1, 8, 8) AS one, stripe._bar(3.5, 8, 8) AS three_and_half, stripe._bar(8, 8, 8) AS full,
       stripe._bar(0.001, 8, 8) AS sliver, stripe._bar(0, 8, 8) AS zero, stripe._bar(NULL, 8, 8) IS NOT NULL AS null_is_empty;
SELECT stripe._spark(ARRAY[0, 1, 2, 3, 4, 5, 6, 7, NULL, 7]) AS spark, stripe._spark(ARRAY(SELECT g::numeric FROM generate_series(1, 200) g), 10) AS averaged,
       stripe._spark('{}') = '' AS empty;
SELECT stripe._fmt_money(123456, 'usd') AS usd, stripe._fmt_money(123456, 'jpy') AS jpy, stripe._fmt_money(123456, 'kwd') AS kwd,
       stripe._fmt_money(-5, 'usd') AS negative, stripe._fmt_pct(0.1534) AS pct, stripe._fmt_pct(NULL) AS no_rate;
SELECT stripe._html_escape('<img src=x onerror=alert(1)> & "q" ''s''') AS escaped, stripe._html_escape(NULL) = '' AS null_is_empty;
SELECT stripe._nice_ticks(0, 3191) AS money, stripe._nice_ticks(0, 0.2) AS rate, stripe._nice_ticks(-120, 480) AS negative,
       stripe._nice_ticks(0, 3, 4, true) AS counts, stripe._nice_ticks(0, 0) AS empty;

-- The dashboard: one self-contained page. No script, no URL of any kind (not even SVG's xmlns:
-- inline SVG in HTML needs none), no tag that loads anything or handles an event, charts present,
-- data escaped. (Data is escaped, so every '<' in the page starts a real tag.)
CREATE TEMP TABLE page AS SELECT stripe.dashboard_html() AS h;
SELECT h LIKE '<!DOCTYPE html>%' AS doctype, h LIKE '%</html>' || E'\n' AS complete,
       h !~* '<script' AS no_script, h !~* 'javascript:' AS no_js_url, h !~* '<[^>]*\son[a-z]+\s*=' AS no_event_handler,
       strpos(h, 'http://') = 0 AS no_http, strpos(h, 'https://') = 0 AS no_https, strpos(lower(h), 'url(') = 0 AS no_css_url,
       h !~* '@import|@font-face|<link|<img|<iframe|<object|<embed|<[^>]*\s(src|href)\s*=' AS nothing_loaded
  FROM page;
SELECT (SELECT count(*) FROM regexp_matches(h, '<svg ', 'g')) AS svgs,
       (SELECT count(*) FROM regexp_matches(h, '<rect ', 'g')) > 300 AS many_rects,
       (SELECT count(*) FROM regexp_matches(h, '<path ', 'g')) >= 6 AS paths,
       h LIKE '%<h2>USD <small>%' AND h LIKE '%<h2>JPY <small>%' AS per_currency,
       h LIKE '%Account <b>platform (own account)</b>%' AND h LIKE '%class="badge live">LIVE%' AND h LIKE '%Time zone <b>UTC</b>%'
         AND h LIKE '%Period <b>2024-01-02 – 2024-03-31</b>%' AS header,
       h LIKE '%Gross volume per day%' AND h LIKE '%Failure rate per week%' AND h LIKE '%Top decline reasons%'
         AND h LIKE '%Refunds and disputes per week%' AND h LIKE '%New and returning customers per week%'
         AND h LIKE '%RFM segments%' AND h LIKE '%Cohort retention%' AND h LIKE '%Checkout funnel%' AS all_charts,
       h LIKE '%3,191.40<small>USD</small>%' AND h LIKE '%75,000<small>JPY</small>%' AS amounts,
       h NOT LIKE '%999,999%' AND h NOT LIKE '%EUR%' AS only_live_platform_data
  FROM page;
-- The hostile failure code appears only escaped.
SELECT strpos(h, '<img src=x onerror=alert(1)>') = 0 AS never_raw,
       (SELECT count(*) FROM regexp_matches(h, '&lt;img src=x onerror=alert\(1\)&gt;', 'g')) AS escaped_occurrences
  FROM page;
-- Account ids and the time zone setting are escaped too.
SELECT strpos(h, '<b>"x"</b>') = 0 AND strpos(h, '&lt;b&gt;&quot;x&quot;&lt;/b&gt;') > 0 AS account_escaped,
       h LIKE '%No payments in this period.%' AS empty_page
  FROM (SELECT stripe.dashboard_html('2024-01-01', '2024-01-31', '<b>"x"</b>') AS h) s;
-- A period without payments: says so, and still shows the counts over all currencies.
SELECT h !~* '<script' AND strpos(h, 'url(') = 0 AS clean, h LIKE '%No payments in this period.%' AS says_empty,
       h NOT LIKE '%<h2>USD%' AS no_currency_section, h LIKE '%<h2>All currencies%' AS counts_section
  FROM (SELECT stripe.dashboard_html('2023-01-01', '2023-01-31') AS h) s;
SET stripe.timezone = 'Asia/Seoul';
SELECT h LIKE '%Time zone <b>Asia/Seoul</b>%' AS seoul, h LIKE '%Period <b>2024-01-03 – 2024-04-01</b>%' AS period
  FROM (SELECT stripe.dashboard_html() AS h) s;
SET stripe.timezone = 'UTC';

-- The running month: a period that ends before the last day of its month marks that month's
-- cells of the cohort triangle (the last cell of each row) and says so, in the report and on the
-- dashboard (dashed cells); a period that ends on a month's last day marks nothing. Expected:
-- one mark per cohort with a cell in that month, counted from cohort_retention.
SELECT l FROM stripe.report(to_date => '2024-03-15') AS l WHERE l ~ '^  [0-9]{4}-[0-9]{2} ' OR l LIKE '  * %';
SELECT to_char(d, 'YYYY-MM-DD') AS to_date,
       (SELECT count(*) FROM stripe.report(to_date => d) l WHERE l ~ '^  [0-9]{4}-[0-9]{2} .*\*$') AS marked_rows,
       (SELECT count(*) FROM stripe.report(to_date => d) l
         WHERE l = format('  * %s so far: payments up to %s', to_char(d, 'YYYY-MM'), to_char(d, 'YYYY-MM-DD'))) AS notes,
       (SELECT count(*) FROM regexp_matches(stripe.dashboard_html(to_date => d), '<rect [^>]*stroke-dasharray', 'g')) AS dashed_cells,
       (SELECT count(*) FROM regexp_matches(stripe.dashboard_html(to_date => d), '[0-9]+%\*</text>', 'g')) AS marked_cells,
       (SELECT count(DISTINCT r.cohort_month) FROM stripe.cohort_retention r
         WHERE r.account IS NULL AND r.livemode AND r.cohort_month + make_interval(months => r.month_offset) = date_trunc('month', d)
           AND d < (date_trunc('month', d) + interval '1 month - 1 day')::date) AS expected
  FROM unnest(ARRAY['2024-03-15', '2024-03-31', '2024-02-10', '2024-02-29']::date[]) AS d;

-- Privileges: a stripe_reader member may run both (as itself, under row-level security); a role
-- without it may not.
CREATE ROLE regress_report_reader IN ROLE stripe_reader;
CREATE ROLE regress_report_nobody;
SET ROLE regress_report_reader;
SELECT count(*) > 100 AS report_lines FROM stripe.report();
SELECT length(stripe.dashboard_html()) > 10000 AS dashboard;
RESET ROLE;
-- Restricted to a connected account by stripe.account_access: the platform's rows are invisible.
INSERT INTO stripe.account_access VALUES ('regress_report_reader', 'acct_1Other');
SET ROLE regress_report_reader;
SELECT l FROM stripe.report() AS l WHERE l LIKE 'no payments%' OR l LIKE '  there is data%';
RESET ROLE;
DELETE FROM stripe.account_access WHERE role = 'regress_report_reader';
SET ROLE regress_report_nobody;
\set VERBOSITY terse
SELECT * FROM stripe.report();
SELECT stripe.dashboard_html();
\set VERBOSITY default
RESET ROLE;
DROP ROLE regress_report_reader;
DROP ROLE regress_report_nobody;
