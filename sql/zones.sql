-- Reporting zones rolled up at ingest (stripe.reporting_zones): payments_* and cohort_retention
-- read the rollups for a listed zone and compute from the quarter-hours and the charges for any
-- other. Both must give the same rows: 'Asia/Kathmandu' (UTC+5:45) is listed below while its
-- alias 'Asia/Katmandu' is not, so the two spellings take the two paths over the same data
-- (the shop report.sql ingested, plus charges around the Kathmandu day and month boundaries).
SET stripe.timezone = 'UTC';
SELECT zone FROM stripe.reporting_zones ORDER BY 1;

CREATE FUNCTION pg_temp.charge_event(id text, created timestamptz, cust text, amount bigint,
                                     evt text DEFAULT NULL, delay integer DEFAULT 5) RETURNS text
LANGUAGE sql AS $$
  SELECT jsonb_build_object('id', coalesce(evt, 'evt_' || id), 'object', 'event', 'api_version', '2024-06-20',
         'type', 'charge.succeeded', 'created', extract(epoch FROM created)::bigint + delay, 'livemode', true,
         'data', jsonb_build_object('object', jsonb_build_object(
           'id', id, 'object', 'charge', 'created', extract(epoch FROM created)::bigint, 'status', 'succeeded',
           'amount', amount, 'amount_captured', amount, 'amount_refunded', 0, 'currency', 'usd',
           'customer', cust, 'captured', true)))::text $$;

-- Kathmandu midnight of 2024-03-01 is 2024-02-29 18:15 UTC: one charge 1 minute before, one after.
SELECT (stripe.ingest_event(pg_temp.charge_event('ch_ktm_1', '2024-02-29 18:14:00+00', 'cus_ktm', 1000))).status,
       (stripe.ingest_event(pg_temp.charge_event('ch_ktm_2', '2024-02-29 18:16:00+00', 'cus_ktm', 2000))).status;

-- Errors: unknown zone, no name, UTC cannot go.
\set VERBOSITY terse
SELECT stripe.add_reporting_zone('Mars/Olympus_Mons');
SELECT stripe.add_reporting_zone('');
SELECT stripe.drop_reporting_zone('UTC');
\set VERBOSITY default

-- Added after the data: filled from the history.
SELECT stripe.add_reporting_zone('Asia/Kathmandu') AS added, stripe.add_reporting_zone('Asia/Kathmandu') AS again;
SELECT zone, count(*) > 0 AS has_days FROM stripe.agg_payments_days GROUP BY 1 ORDER BY 1;
SELECT zone, count(*) > 0 AS has_cohorts FROM stripe.agg_cohorts GROUP BY 1 ORDER BY 1;

CREATE TEMP TABLE rolled AS SELECT 'daily' AS v, to_jsonb(p) AS r FROM stripe.payments_daily p WHERE false;
CREATE FUNCTION pg_temp.views() RETURNS TABLE (v text, r jsonb) LANGUAGE sql AS $$
  SELECT 'daily', to_jsonb(p) FROM stripe.payments_daily p
  UNION ALL SELECT 'weekly', to_jsonb(p) FROM stripe.payments_weekly p
  UNION ALL SELECT 'monthly', to_jsonb(p) FROM stripe.payments_monthly p
  UNION ALL SELECT 'range', to_jsonb(p) FROM stripe.payments('day', '2024-02-01', '2024-03-31') p
  UNION ALL SELECT 'cohorts', to_jsonb(c) FROM stripe.cohort_retention c $$;

SET stripe.timezone = 'Asia/Kathmandu';
SELECT stripe._rolled_up(stripe.reporting_timezone()) AS rolled_up;
INSERT INTO rolled SELECT * FROM pg_temp.views();
SET stripe.timezone = 'Asia/Katmandu';
SELECT stripe._rolled_up(stripe.reporting_timezone()) AS rolled_up;
CREATE TEMP TABLE computed AS SELECT * FROM pg_temp.views();
SELECT v, count(*) AS rows FROM rolled GROUP BY 1 ORDER BY 1;
SELECT 'only rolled up' AS side, * FROM (SELECT * FROM rolled EXCEPT ALL SELECT * FROM computed) x
UNION ALL
SELECT 'only computed', * FROM (SELECT * FROM computed EXCEPT ALL SELECT * FROM rolled) y;

-- The two charges fall on two Kathmandu days and months (and on one UTC day).
SET stripe.timezone = 'Asia/Kathmandu';
SELECT day, successful_payments, gross_volume FROM stripe.payments_daily
 WHERE day BETWEEN '2024-02-29' AND '2024-03-01' AND currency = 'usd' AND livemode AND account IS NULL ORDER BY 1;
SELECT cohort_month, month_offset, cohort_size, active_customers, repeat_customers FROM stripe.cohort_retention
 WHERE cohort_month >= '2024-02-01' AND month_offset <= 1 AND livemode AND account IS NULL ORDER BY 1, 2;
SET stripe.timezone = 'UTC';
SELECT day, successful_payments, gross_volume FROM stripe.payments_daily
 WHERE day BETWEEN '2024-02-29' AND '2024-03-01' AND currency = 'usd' AND livemode AND account IS NULL ORDER BY 1;

-- Ingest after the zone was added keeps both paths equal: a refund of the first charge, and the
-- second charge moved to another customer by a later event (its payment leaves cus_ktm's
-- cohort and starts a new one).
SELECT (stripe.ingest_event(jsonb_build_object('id', 'evt_ktm_re', 'object', 'event', 'api_version', '2024-06-20',
         'type', 'refund.created', 'created', extract(epoch FROM timestamptz '2024-03-02 00:00+00')::bigint,
         'livemode', true, 'data', jsonb_build_object('object', jsonb_build_object(
           'id', 're_ktm_1', 'object', 'refund', 'created', extract(epoch FROM timestamptz '2024-03-01 18:20+00')::bigint,
           'status', 'succeeded', 'amount', 400, 'currency', 'usd', 'charge', 'ch_ktm_1')))::text)).status;
SELECT (stripe.ingest_event(pg_temp.charge_event('ch_ktm_2', '2024-02-29 18:16:00+00', 'cus_ktm_2', 2000,
                                                 'evt_ch_ktm_2_moved', 3600))).status;
TRUNCATE rolled, computed;
SET stripe.timezone = 'Asia/Kathmandu';
INSERT INTO rolled SELECT * FROM pg_temp.views();
SELECT cohort_month, month_offset, cohort_size, active_customers, repeat_customers FROM stripe.cohort_retention
 WHERE cohort_month >= '2024-02-01' AND month_offset <= 1 AND livemode AND account IS NULL ORDER BY 1, 2;
SET stripe.timezone = 'Asia/Katmandu';
INSERT INTO computed SELECT * FROM pg_temp.views();
SELECT count(*) AS differences FROM (
  (SELECT * FROM rolled EXCEPT ALL SELECT * FROM computed) UNION ALL (SELECT * FROM computed EXCEPT ALL SELECT * FROM rolled)) d;

-- rebuild() recomputes every zone's rollups from the log.
SET stripe.timezone = 'Asia/Kathmandu';
SELECT stripe.rebuild() > 0 AS rebuilt;
TRUNCATE computed;
INSERT INTO computed SELECT * FROM pg_temp.views();
SELECT count(*) AS differences FROM (
  (SELECT * FROM rolled EXCEPT ALL SELECT * FROM computed) UNION ALL (SELECT * FROM computed EXCEPT ALL SELECT * FROM rolled)) d;

-- add/drop_reporting_zone wait for ingest through the "ingest" advisory lock: the key they take
-- in SQL is the one every ingesting transaction holds, shared, from its first event.
BEGIN;
SELECT (stripe.ingest_event(pg_temp.charge_event('ch_ktm_lock', '2024-03-05 10:00:00+00', 'cus_ktm', 500))).status;
SELECT mode FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 2 AND objid = 0
   AND classid::bigint = (hashtext('stripe.ingest')::bigint & 4294967295);
ROLLBACK;

-- Names are kept in their canonical spelling, in the setting and in the list, so any spelling
-- of a listed zone reads its rollups; an alias is a zone of its own.
SET stripe.timezone = 'asia/kathmandu';
SHOW stripe.timezone;
SELECT stripe._rolled_up(stripe.reporting_timezone()) AS rolled_up;
SET stripe.timezone = 'ASIA/KATMANDU';
SHOW stripe.timezone;
SELECT stripe.add_reporting_zone('asia/kolkata') AS added, stripe.add_reporting_zone('Asia/Kolkata') AS again;
SELECT zone FROM stripe.reporting_zones ORDER BY 1;
SELECT stripe.drop_reporting_zone('ASIA/KOLKATA') AS dropped;
\set VERBOSITY terse
SELECT stripe.drop_reporting_zone('utc');
\set VERBOSITY default
RESET stripe.timezone;

-- Who may manage zones: stripe_admin, not stripe_reader or stripe_ingest.
SELECT r, has_function_privilege(r, 'stripe.add_reporting_zone(text)', 'EXECUTE') AS may_add,
       has_table_privilege(r, 'stripe.reporting_zones', 'SELECT') AS may_read
  FROM unnest(ARRAY['stripe_ingest', 'stripe_reader', 'stripe_admin']) r;

-- Dropped: its rollups go, the views compute it again.
SELECT stripe.drop_reporting_zone('Asia/Kathmandu') AS dropped, stripe.drop_reporting_zone('Asia/Kathmandu') AS again;
SELECT count(*) AS rows_left FROM stripe.agg_payments_days WHERE zone = 'Asia/Kathmandu';
SELECT count(*) AS rows_left FROM stripe.customer_months WHERE zone = 'Asia/Kathmandu';
SET stripe.timezone = 'Asia/Kathmandu';
TRUNCATE computed;
INSERT INTO computed SELECT * FROM pg_temp.views();
SELECT count(*) AS differences FROM (
  (SELECT * FROM rolled EXCEPT ALL SELECT * FROM computed) UNION ALL (SELECT * FROM computed EXCEPT ALL SELECT * FROM rolled)) d;
RESET stripe.timezone;
