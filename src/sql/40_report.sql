
-------------------------------------------------------------------------------
-- §4 Reporting: stripe.report() prints the headline figures of a period for psql, with text bar
-- charts and sparklines; stripe.dashboard_html() returns the same as one self-contained HTML page
-- (inline CSS and SVG; no script, font, image or URL of any kind).
--
-- Both are plain SQL/PL/pgSQL over the §3 views and the object tables, run as the caller (views
-- are security_invoker, so row-level security per connected account applies). Every figure is
-- per (account, livemode) and, where it is money, per currency: amounts in different currencies
-- are never added. Counts of customers and checkout sessions are shown for all currencies.
-- Both run with jit = off: their queries are short, and at 10M events their estimated costs
-- passed the default jit_above_cost, so Postgres spent ~0.7 s compiling them on every call.
--
-- Layout of this file: text helpers, period and data helpers (shared by both outputs), the text
-- report, SVG/HTML helpers, the dashboard.
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Text helpers
-------------------------------------------------------------------------------

-- A horizontal bar `width` cells long when value = max_value, drawn in eighths of a cell
-- (█▏▎▍▌▋▊▉). A positive value too small to see still gets the thinnest sliver; zero, negative
-- or NULL gives ''.
CREATE FUNCTION stripe._bar(value numeric, max_value numeric, width integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN value IS NULL OR max_value IS NULL OR value <= 0 OR max_value <= 0 OR width <= 0 THEN ''
    ELSE (SELECT repeat('█', e / 8) || CASE WHEN e % 8 > 0 THEN substr('▏▎▍▌▋▊▉', e % 8, 1) ELSE '' END
            FROM (SELECT greatest(1, round(8 * width * least(value, max_value) / max_value))::int AS e) s)
  END
$$;
COMMENT ON FUNCTION stripe._bar(numeric, numeric, integer) IS 'Text bar in eighths of a cell: width cells at max_value.';

-- A sparkline (▁▂▃▄▅▆▇█) of a series, scaled from 0 to the series' maximum: one cell per value,
-- or, for a series longer than `width`, consecutive values averaged into `width` cells. NULL
-- values are blanks; zero and negative values are the lowest bar.
CREATE FUNCTION stripe._spark(vals numeric[], width integer DEFAULT 90) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH v AS (SELECT u.x, u.i FROM unnest(vals) WITH ORDINALITY AS u(x, i)),
       n AS (SELECT count(*) AS n FROM v),
       g AS (SELECT (v.i - 1) * least(width, n.n) / n.n AS cell, avg(v.x) AS x
               FROM v, n GROUP BY 1),
       m AS (SELECT max(x) AS hi FROM g)
  SELECT coalesce(string_agg(CASE WHEN g.x IS NULL THEN ' '
                                  WHEN m.hi IS NULL OR m.hi <= 0 THEN '▁'
                                  ELSE substr('▁▂▃▄▅▆▇█', 1 + greatest(0, least(7, round(7 * g.x / m.hi)))::int, 1)
                             END, '' ORDER BY g.cell), '')
    FROM g, m
$$;
COMMENT ON FUNCTION stripe._spark(numeric[], integer) IS 'Sparkline of a series from 0 to its maximum, at most width cells (longer series are averaged).';

-- A date as YYYY-MM-DD whatever DateStyle is.
CREATE FUNCTION stripe._d(d date) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_char(d, 'YYYY-MM-DD')
$$;

-- A text cut to at most n characters, with … when cut (for ids and codes in fixed columns).
CREATE FUNCTION stripe._fit(s text, n integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN length(s) <= n THEN s ELSE left(s, n - 1) || '…' END
$$;

-- Amount in minor units -> major units with thousands separators, to the currency's precision:
-- (123456, 'usd') -> '1,234.56', (123456, 'jpy') -> '123,456'. Separators are fixed (',' and
-- '.') so the output does not depend on lc_numeric.
CREATE FUNCTION stripe._fmt_amount(amount numeric, currency text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_char(stripe.to_major(amount, currency),
                 'FM9,999,999,999,999,999,990' || CASE WHEN stripe.currency_exponent(currency) > 0
                                                 THEN '.' || repeat('0', stripe.currency_exponent(currency)) ELSE '' END)
$$;

-- '1,234.56 USD'
CREATE FUNCTION stripe._fmt_money(amount numeric, currency text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT stripe._fmt_amount(amount, currency) || ' ' || upper(currency)
$$;

-- 1234567 -> '1,234,567'
CREATE FUNCTION stripe._fmt_int(n numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_char(n, 'FM9,999,999,999,999,999,990')
$$;

-- A rate in [0,1] as a percentage with one decimal ('15.3%'); '–' for NULL (no denominator).
CREATE FUNCTION stripe._fmt_pct(rate numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(to_char(100 * rate, 'FM9990.0') || '%', '–')
$$;

-------------------------------------------------------------------------------
-- Period and data helpers. Days are calendar days in stripe.timezone; the period is inclusive.
-------------------------------------------------------------------------------

-- The period to report: to_date defaults to the latest day with data of this account and mode
-- (not today, so a shop whose data stopped a while ago still shows its last quarter), from_date
-- to 90 days before to_date. `latest` is that latest day: the last day with a charge, or, for
-- an account without charges, with any activity (NULL: no data at all). Refunds and disputes
-- trail the last sale by weeks; they do not move the default period past it.
CREATE FUNCTION stripe._report_period(p_from date, p_to date, p_account text, p_livemode boolean,
                                      OUT period_from date, OUT period_to date, OUT latest date)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  -- The latest day with a charge: from the day rollup when the zone has one (a few rows per
  -- day), else the newest quarter-hour with one (payments_daily's latest day, without summing the
  -- whole history). A bucket's count of charges summed over currencies and shards is never
  -- negative, so > 0 means "had a charge".
  IF stripe._rolled_up(stripe.reporting_timezone()) THEN
    SELECT d.day INTO latest
      FROM stripe.agg_payments_days d
     WHERE d.zone = stripe.reporting_timezone() AND d.account IS NOT DISTINCT FROM p_account AND d.livemode = p_livemode
     GROUP BY d.day
    HAVING sum(d.succeeded + d.failed) > 0
     ORDER BY d.day DESC
     LIMIT 1;
  ELSE
    SELECT (a.bucket AT TIME ZONE stripe.reporting_timezone())::date INTO latest
      FROM stripe.agg_payments a
     WHERE a.account IS NOT DISTINCT FROM p_account AND a.livemode = p_livemode
     GROUP BY a.bucket
    HAVING sum(a.succeeded + a.failed) > 0
     ORDER BY a.bucket DESC
     LIMIT 1;
  END IF;
  IF latest IS NULL THEN
    SELECT max(d) INTO latest FROM (
      SELECT max(p.day) AS d FROM stripe.payments_daily p
       WHERE p.account IS NOT DISTINCT FROM p_account AND p.livemode = p_livemode
      UNION ALL
      SELECT max(f.day) FROM stripe.checkout_funnel_daily f
       WHERE f.account IS NOT DISTINCT FROM p_account AND f.livemode = p_livemode
      UNION ALL
      SELECT max(n.day) FROM stripe.new_customers_daily n
       WHERE n.account IS NOT DISTINCT FROM p_account AND n.livemode = p_livemode) s;
  END IF;
  period_to := coalesce(p_to, greatest(latest, p_from), (now() AT TIME ZONE stripe.reporting_timezone())::date);
  period_from := coalesce(p_from, period_to - 89);
  IF period_from > period_to THEN
    RAISE EXCEPTION 'from_date % is after to_date %', stripe._d(period_from), stripe._d(period_to) USING ERRCODE = '22023';
  END IF;
END $$;
COMMENT ON FUNCTION stripe._report_period(date, date, text, boolean) IS 'Reporting period: to_date defaults to the last day with a charge of the account and mode (else with any activity), from_date to 89 days before it.';

-- Currencies with any payment activity in the period, the busiest (by number of charges) first.
CREATE FUNCTION stripe._report_currencies(p_from date, p_to date, p_account text, p_livemode boolean)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
  SELECT p.currency FROM stripe.payments('day', p_from, p_to) p
   WHERE p.account IS NOT DISTINCT FROM p_account AND p.livemode = p_livemode
   GROUP BY p.currency
   ORDER BY sum(p.successful_payments + p.failed_payments) DESC, p.currency
$$;

-- Every day of the period in one currency, zeros on days without activity: payments_daily plus
-- the amount of the disputes counted there (created that day, status not warning_*) and of
-- those now lost.
CREATE FUNCTION stripe._report_daily(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (day date, succeeded bigint, failed bigint, gross bigint, refunded bigint,
               disputes bigint, disputed bigint, lost bigint, net bigint)
LANGUAGE sql STABLE AS $$
  WITH d AS (
    SELECT (c.created AT TIME ZONE stripe.reporting_timezone())::date AS day,
           sum(c.amount) AS disputed, sum(c.amount) FILTER (WHERE c.status = 'lost') AS lost
      FROM stripe.disputes c
     WHERE c.account IS NOT DISTINCT FROM p_account AND c.livemode = p_livemode AND c.currency = p_currency
       AND c.status NOT LIKE 'warning\_%'
       AND c.created >= stripe._period_start(p_from) AND c.created < stripe._period_start(p_to + 1)
     GROUP BY 1)
  SELECT g.day::date, coalesce(p.successful_payments, 0), coalesce(p.failed_payments, 0),
         coalesce(p.gross_volume, 0), coalesce(p.refunded_amount, 0), coalesce(p.disputes, 0),
         coalesce(d.disputed, 0)::bigint, coalesce(d.lost, 0)::bigint, coalesce(p.net_volume, 0)
    FROM generate_series(p_from, p_to, interval '1 day') AS g(day)
    LEFT JOIN stripe.payments('day', p_from, p_to) p ON p.bucket = g.day::date AND p.account IS NOT DISTINCT FROM p_account
                                      AND p.livemode = p_livemode AND p.currency = p_currency
    LEFT JOIN d ON d.day = g.day::date
   ORDER BY 1
$$;

-- The same by ISO week (Monday), over the days of the period only: `days` < 7 marks a week cut
-- by the period's edge.
CREATE FUNCTION stripe._report_weekly(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (week date, days integer, succeeded bigint, failed bigint, gross bigint, refunded bigint,
               disputes bigint, disputed bigint, lost bigint, net bigint)
LANGUAGE sql STABLE AS $$
  SELECT date_trunc('week', d.day)::date, count(*)::int, sum(d.succeeded)::bigint, sum(d.failed)::bigint,
         sum(d.gross)::bigint, sum(d.refunded)::bigint, sum(d.disputes)::bigint, sum(d.disputed)::bigint,
         sum(d.lost)::bigint, sum(d.net)::bigint
    FROM stripe._report_daily(p_from, p_to, p_account, p_livemode, p_currency) d
   GROUP BY 1 ORDER BY 1
$$;

-- Failed charges of the period by (failure_code, outcome_reason), most frequent first, with
-- their share of the period's failed charges in that currency.
CREATE FUNCTION stripe._report_declines(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (failure_code text, outcome_reason text, failed bigint, share numeric)
LANGUAGE sql STABLE AS $$
  SELECT c.failure_code, c.outcome_reason, count(*),
         stripe.ratio(count(*), sum(count(*)) OVER ())
    FROM stripe.charges c
   WHERE c.account IS NOT DISTINCT FROM p_account AND c.livemode = p_livemode AND c.currency = p_currency
     AND c.status = 'failed'
     AND c.created >= stripe._period_start(p_from) AND c.created < stripe._period_start(p_to + 1)
   GROUP BY 1, 2
   ORDER BY 3 DESC, 1 NULLS LAST, 2 NULLS LAST
$$;

-- Refunds and disputes of the period: how many, the amounts (refunds as in payments_daily:
-- succeeded, not expired_uncaptured_charge), disputes by state.
CREATE FUNCTION stripe._report_refunds_disputes(p_from date, p_to date, p_account text, p_livemode boolean,
                                                p_currency text,
    OUT refunds bigint, OUT refunded bigint, OUT disputes bigint, OUT disputed bigint,
    OUT open bigint, OUT won bigint, OUT lost bigint, OUT lost_amount bigint)
LANGUAGE sql STABLE AS $$
  SELECT r.n, r.amount, d.n, d.amount, d.open, d.won, d.lost, d.lost_amount
    FROM (SELECT count(*) AS n, coalesce(sum(x.amount), 0)::bigint AS amount
            FROM stripe.refunds x
           WHERE x.account IS NOT DISTINCT FROM p_account AND x.livemode = p_livemode AND x.currency = p_currency
             AND stripe.refund_counts(x.status, x.reason)
             AND x.created >= stripe._period_start(p_from) AND x.created < stripe._period_start(p_to + 1)) r,
         (SELECT count(*) AS n, coalesce(sum(x.amount), 0)::bigint AS amount,
                 count(*) FILTER (WHERE x.status NOT IN ('won', 'lost')) AS open,
                 count(*) FILTER (WHERE x.status = 'won') AS won,
                 count(*) FILTER (WHERE x.status = 'lost') AS lost,
                 coalesce(sum(x.amount) FILTER (WHERE x.status = 'lost'), 0)::bigint AS lost_amount
            FROM stripe.disputes x
           WHERE x.account IS NOT DISTINCT FROM p_account AND x.livemode = p_livemode AND x.currency = p_currency
             AND x.status NOT LIKE 'warning\_%'
             AND x.created >= stripe._period_start(p_from) AND x.created < stripe._period_start(p_to + 1)) d
$$;

-- Paying customers per ISO week of the period in one currency: `new` made their first succeeded
-- payment in that currency (customer_stats.first_payment_at) that week, `returning` had paid
-- before. The row with week NULL is the whole period (new = first payment in the period);
-- `guest_payments` are succeeded charges without a customer.
-- The period's payments are first reduced to one row per customer and week, so that every count
-- is a plain count, by hash aggregation. The planner cannot estimate the period's rows through
-- `account IS NOT DISTINCT FROM` (it expects a handful), so it is told to hash and not to loop
-- (enable_sort, enable_nestloop off): its sorts of the period's payments spilled to disk, and a
-- nested loop over thousands of CTE rows per row made this quadratic in the customers.
CREATE FUNCTION stripe._report_customers(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (week date, customers bigint, new_customers bigint, returning_customers bigint, guest_payments bigint)
LANGUAGE sql STABLE SET enable_nestloop = off SET enable_sort = off AS $$
  -- The period's payments (index-only, on charges_period_idx) per customer and week, then the
  -- first payment of just those customers, joined on customer alone (a join on
  -- `account IS NOT DISTINCT FROM` cannot hash).
  WITH period AS MATERIALIZED (
    SELECT c.customer, date_trunc('week', c.created AT TIME ZONE stripe.reporting_timezone())::date AS week,
           count(*) AS payments
      FROM stripe.charges c
     WHERE c.account IS NOT DISTINCT FROM p_account AND c.livemode = p_livemode AND c.currency = p_currency
       AND c.status = 'succeeded'
       AND c.created >= stripe._period_start(p_from) AND c.created < stripe._period_start(p_to + 1)
     GROUP BY 1, 2),
  firsts AS MATERIALIZED (
    SELECT t.customer, t.first_payment_at
      FROM stripe.customer_totals t
     WHERE t.account IS NOT DISTINCT FROM p_account AND t.livemode = p_livemode AND t.currency = p_currency
       AND t.customer IN (SELECT customer FROM period)),
  pay AS MATERIALIZED (  -- customer x week (customer NULL: the guests' payments of the week)
    SELECT p.customer, p.week, p.payments, f.first_payment_at,
           date_trunc('week', f.first_payment_at AT TIME ZONE stripe.reporting_timezone())::date >= p.week AS is_new
      FROM period p LEFT JOIN firsts f ON f.customer = p.customer)
  -- every week of the period, zeros for a week without a payment
  SELECT g.week::date, coalesce(w.customers, 0), coalesce(w.new_customers, 0), coalesce(w.returning_customers, 0),
         coalesce(w.guest_payments, 0)
    FROM generate_series(date_trunc('week', p_from), p_to, interval '1 week') AS g(week)
    LEFT JOIN (SELECT p.week, count(p.customer) AS customers, count(p.customer) FILTER (WHERE p.is_new) AS new_customers,
                      count(p.customer) FILTER (WHERE NOT p.is_new) AS returning_customers,
                      coalesce(sum(p.payments) FILTER (WHERE p.customer IS NULL), 0)::bigint AS guest_payments
                 FROM pay p GROUP BY p.week) w ON w.week = g.week::date
  UNION ALL  -- the whole period: one row per customer
  SELECT NULL, count(c.customer), count(c.customer) FILTER (WHERE c.is_new),
         count(c.customer) FILTER (WHERE NOT c.is_new),
         coalesce(sum(c.payments) FILTER (WHERE c.customer IS NULL), 0)::bigint
    FROM (SELECT p.customer, sum(p.payments) AS payments,
                 min(p.first_payment_at) >= stripe._period_start(p_from) AS is_new
            FROM pay p GROUP BY p.customer) c
   ORDER BY 1 NULLS LAST
$$;

-- RFM segments (stripe.customer_rfm) of the customers who had paid in this currency by the end
-- of the period, in a fixed order, with the segments' customers, share, average spend and
-- average days since the last payment (as of the end of the period).
-- One read of the partition's customers: its r and f cuts are stripe._rfm_cuts' (the same
-- aggregate over the same rows: the partition's customers with a payment), taken from that read,
-- then the customers' segments counted by hash aggregation (enable_sort off, as above: the
-- planner expects a handful of rows and sorted 150k). The rfm regression test checks these
-- counts against customer_rfm.
CREATE FUNCTION stripe._report_rfm(p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS TABLE (segment text, customers bigint, share numeric, avg_spent numeric, avg_recency_days numeric)
LANGUAGE sql STABLE SET enable_sort = off AS $$
  WITH p AS MATERIALIZED (
    SELECT c.last_payment_at, c.payments, c.total_spent, c.first_payment_at
      FROM stripe.customer_totals c
     WHERE c.account IS NOT DISTINCT FROM p_account AND c.livemode = p_livemode AND c.currency = p_currency
       AND c.payments >= 1),
  x AS MATERIALIZED (
    SELECT stripe._rfm_cuts_of(coalesce(p.last_payment_at, 'infinity')) AS r, stripe._rfm_cuts_of(p.payments) AS f
      FROM p),
  seg AS (
    SELECT stripe._rfm_segment(stripe._rfm_score(coalesce(p.last_payment_at, 'infinity'), x.r[1], x.r[2], x.r[3], x.r[4]),
                               stripe._rfm_score(p.payments, x.f[1], x.f[2], x.f[3], x.f[4])) AS segment,
           count(*) AS customers, avg(p.total_spent) AS avg_spent,
           avg(CASE WHEN p.recency_days < 0 THEN 0 ELSE p.recency_days END) AS avg_recency_days
      FROM (SELECT p.*, extract(epoch FROM stripe._period_start(p_to + 1) - p.last_payment_at) / 86400 AS recency_days
              FROM p WHERE p.first_payment_at < stripe._period_start(p_to + 1)) p
     CROSS JOIN x
     GROUP BY 1)
  SELECT s.segment, coalesce(g.customers, 0), stripe.ratio(coalesce(g.customers, 0), (SELECT sum(customers) FROM seg)),
         g.avg_spent, g.avg_recency_days
    FROM unnest(ARRAY['champions', 'loyal', 'promising', 'new', 'at_risk', 'hibernating']) WITH ORDINALITY AS s(segment, ord)
    LEFT JOIN seg g ON g.segment = s.segment
   ORDER BY s.ord
$$;

-- The cohort-retention triangle (stripe.cohort_retention) of the last p_months cohorts up to the
-- month of p_to, cut at that month: one row per cohort, retention[k+1] for month offset k.
-- `running`: the row's last cell is the month of p_to and that month is still running (p_to is
-- not its last day), so the cell counts part of a month; report() and the dashboard mark it
-- (with stripe._running_note) rather than let it read as a drop in retention.
CREATE FUNCTION stripe._report_cohorts(p_to date, p_account text, p_livemode boolean, p_months integer)
RETURNS TABLE (cohort_month date, cohort_size bigint, retention numeric[], running boolean)
LANGUAGE sql STABLE AS $$
  SELECT r.cohort_month, max(r.cohort_size), array_agg(r.retention ORDER BY r.month_offset),
         (r.cohort_month + make_interval(months => max(r.month_offset)))::date = date_trunc('month', p_to)::date
           AND p_to < (date_trunc('month', p_to) + interval '1 month - 1 day')::date
    FROM stripe.cohort_retention r
   WHERE r.account IS NOT DISTINCT FROM p_account AND r.livemode = p_livemode
     AND r.cohort_month >= (date_trunc('month', p_to) - make_interval(months => p_months - 1))::date
     AND r.cohort_month <= p_to
     AND (r.cohort_month + make_interval(months => r.month_offset))::date <= p_to
   GROUP BY r.cohort_month
   ORDER BY r.cohort_month
$$;

-- The note under a cohort triangle with running cells (stripe._report_cohorts).
CREATE FUNCTION stripe._running_note(p_to date) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT format('* %s so far: payments up to %s', to_char(p_to, 'YYYY-MM'), stripe._d(p_to))
$$;

-- Checkout sessions created in the period, by ISO week; the row with week NULL is the total.
CREATE FUNCTION stripe._report_funnel(p_from date, p_to date, p_account text, p_livemode boolean)
RETURNS TABLE (week date, sessions bigint, completed bigint, paid bigint, expired bigint, conversion_rate numeric)
LANGUAGE sql STABLE AS $$
  SELECT date_trunc('week', f.day)::date AS week, sum(f.sessions)::bigint, sum(f.completed)::bigint,
         sum(f.paid)::bigint, sum(f.expired)::bigint, stripe.ratio(sum(f.completed), sum(f.completed) + sum(f.expired))
    FROM stripe._checkout_days(p_from, p_to) f
   WHERE f.account IS NOT DISTINCT FROM p_account AND f.livemode = p_livemode
   GROUP BY GROUPING SETS ((1), ())
   ORDER BY 1 NULLS LAST
$$;

-- Customers created per day of the period (stripe.new_customers_daily), zeros included.
CREATE FUNCTION stripe._report_new_customers(p_from date, p_to date, p_account text, p_livemode boolean)
RETURNS TABLE (day date, new_customers bigint)
LANGUAGE sql STABLE AS $$
  SELECT g.day::date, coalesce(sum(n.new_customers), 0)::bigint
    FROM generate_series(p_from, p_to, interval '1 day') AS g(day)
    LEFT JOIN stripe._new_customer_days(p_from, p_to) n
      ON n.day = g.day::date AND n.account IS NOT DISTINCT FROM p_account AND n.livemode = p_livemode
   GROUP BY 1 ORDER BY 1
$$;

-- Where else there is data, for the hint under an empty report: other (account, mode) pairs and
-- their latest data as stripe._report_period sees it.
CREATE FUNCTION stripe._report_elsewhere(p_account text, p_livemode boolean)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
  SELECT coalesce('account ' || p.account, 'the platform account') || ' in ' ||
         CASE WHEN p.livemode THEN 'live' ELSE 'test' END || ' mode (latest data '
         || stripe._d(coalesce(max(p.day) FILTER (WHERE p.successful_payments + p.failed_payments > 0), max(p.day))) || ')'
    FROM stripe.payments_daily p
   WHERE NOT (p.account IS NOT DISTINCT FROM p_account AND p.livemode = p_livemode)
   GROUP BY p.account, p.livemode
   ORDER BY p.account NULLS FIRST, p.livemode DESC
   LIMIT 5
$$;

-------------------------------------------------------------------------------
-- The text report. Every line fits 100 terminal columns (the block characters are one column
-- wide); ids and codes from the data are cut to their column.
-------------------------------------------------------------------------------

-- A section rule: '━━ TITLE ━━━━…' to 100 columns.
CREATE FUNCTION stripe._rule(title text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT rpad('━━ ' || stripe._fit(title, 90) || ' ', 100, '━')
$$;

-- The header: account, mode, time zone, period.
CREATE FUNCTION stripe._report_header(p_from date, p_to date, p_latest date, p_account text, p_livemode boolean)
RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN NEXT stripe._rule('pg_stripe report');
  RETURN NEXT format('  %-11s %s', 'account',
                     coalesce(stripe._fit(p_account, 80), 'platform (own account, not a connected account)'));
  RETURN NEXT format('  %-11s %-30s %-11s %s', 'mode', CASE WHEN p_livemode THEN 'live' ELSE 'test' END,
                     'time zone', stripe._fit(stripe.reporting_timezone(), 44));
  RETURN NEXT format('  %-11s %s – %s (%s days)%s', 'period', stripe._d(p_from), stripe._d(p_to), p_to - p_from + 1,
                     coalesce('; latest data ' || stripe._d(p_latest), '; no data yet'));
  RETURN NEXT '';
END $$;

-- One currency's section: volume, payments, declines, refunds and disputes, customers, RFM.
CREATE FUNCTION stripe._report_currency(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
  cur   text := upper(p_currency);
  t     record;   -- period totals
  rd    record;   -- refunds and disputes
  x     record;
  top   numeric;
  n     integer := 0;
  rest  bigint := 0;
BEGIN
  SELECT sum(d.succeeded) AS succeeded, sum(d.failed) AS failed, sum(d.gross) AS gross,
         sum(d.refunded) AS refunded, sum(d.disputed) AS disputed, sum(d.lost) AS lost, sum(d.net) AS net,
         array_agg(d.gross ORDER BY d.day) AS daily_gross,
         (array_agg(d.day ORDER BY d.gross DESC, d.day))[1] AS peak_day, max(d.gross) AS peak_gross
    INTO t FROM stripe._report_daily(p_from, p_to, p_account, p_livemode, p_currency) d;
  SELECT * INTO rd FROM stripe._report_refunds_disputes(p_from, p_to, p_account, p_livemode, p_currency);

  RETURN NEXT stripe._rule(cur);
  -- Volume: gross, what came off it, net; one scale for the four bars.
  RETURN NEXT 'Volume';
  top := greatest(t.gross, t.refunded, t.disputed, t.net);
  RETURN NEXT format('  %-14s %20s  %s', 'gross volume', stripe._fmt_money(t.gross, p_currency), stripe._bar(t.gross, top, 50));
  RETURN NEXT format('  %-14s %20s  %s', 'refunded', stripe._fmt_money(t.refunded, p_currency), stripe._bar(t.refunded, top, 50));
  RETURN NEXT format('  %-14s %20s  %s', 'disputed', stripe._fmt_money(t.disputed, p_currency), stripe._bar(t.disputed, top, 50));
  RETURN NEXT format('  %-14s %20s  %s', 'net volume', stripe._fmt_money(t.net, p_currency), stripe._bar(t.net, top, 50));
  RETURN NEXT '  net volume = gross − refunded − disputes now lost ('
              || stripe._fmt_money(t.lost, p_currency) || ')';
  RETURN NEXT format('  gross volume per day%s',
                     CASE WHEN t.peak_gross > 0 THEN format(' (peak %s on %s)', stripe._fmt_money(t.peak_gross, p_currency), stripe._d(t.peak_day)) END);
  RETURN NEXT '  ' || stripe._spark(t.daily_gross, 90);
  RETURN NEXT '';

  -- Payments: counts, failure rate, week by week, top decline reasons.
  RETURN NEXT 'Payments';
  RETURN NEXT format('  %-14s %8s    %-8s %8s    %-13s %s', 'succeeded', stripe._fmt_int(t.succeeded),
                     'failed', stripe._fmt_int(t.failed), 'failure rate',
                     stripe._fmt_pct(stripe.ratio(t.failed, t.succeeded + t.failed)));
  RETURN NEXT format('  %-11s %9s %8s  %s', 'week of', 'succeeded', 'failure', 'gross volume');
  -- (Each section's query runs once; the bars' scale comes with its rows.)
  FOR x IN SELECT w.*, max(w.gross) OVER () AS top FROM stripe._report_weekly(p_from, p_to, p_account, p_livemode, p_currency) w LOOP
    top := x.top;
    RETURN NEXT rtrim(format('  %-11s %9s %8s  %-40s %17s', stripe._d(x.week) || CASE WHEN x.days < 7 THEN '*' ELSE '' END,
                             stripe._fmt_int(x.succeeded), stripe._fmt_pct(stripe.ratio(x.failed, x.succeeded + x.failed)),
                             stripe._bar(x.gross, top, 40), stripe._fmt_money(x.gross, p_currency)));
  END LOOP;
  RETURN NEXT '  * part of the week is outside the period';
  IF t.failed > 0 THEN
    RETURN NEXT format('  top decline reasons (failure code: outcome reason) of %s failed payment%s',
                       stripe._fmt_int(t.failed), CASE WHEN t.failed <> 1 THEN 's' END);
    FOR x IN SELECT d.*, max(d.failed) OVER () AS top
               FROM stripe._report_declines(p_from, p_to, p_account, p_livemode, p_currency) d LOOP
      top := x.top;
      n := n + 1;
      IF n <= 5 THEN
        RETURN NEXT rtrim(format('    %-40s %-30s %6s %7s',
                                 stripe._fit(coalesce(x.failure_code, '(no code)') || ': ' || coalesce(x.outcome_reason, '(no reason)'), 40),
                                 stripe._bar(x.failed, top, 30), stripe._fmt_int(x.failed), stripe._fmt_pct(x.share)));
      ELSE
        rest := rest + x.failed;
      END IF;
    END LOOP;
    IF n > 5 THEN
      RETURN NEXT rtrim(format('    %-40s %-30s %6s %7s', format('%s other reason%s', n - 5, CASE WHEN n - 5 > 1 THEN 's' END),
                               stripe._bar(rest, top, 30), stripe._fmt_int(rest), stripe._fmt_pct(stripe.ratio(rest, t.failed))));
    END IF;
  END IF;
  RETURN NEXT '';

  -- Refunds and disputes.
  RETURN NEXT 'Refunds and disputes';
  RETURN NEXT format('  %-10s %8s %20s   %s of gross volume', 'refunds', stripe._fmt_int(rd.refunds),
                     stripe._fmt_money(rd.refunded, p_currency), stripe._fmt_pct(stripe.ratio(rd.refunded, t.gross)));
  RETURN NEXT format('  %-10s %8s %20s   %s of succeeded payments', 'disputes', stripe._fmt_int(rd.disputes),
                     stripe._fmt_money(rd.disputed, p_currency), stripe._fmt_pct(stripe.ratio(rd.disputes, t.succeeded)));
  IF rd.disputes > 0 THEN
    RETURN NEXT format('  %-10s %8s    open %s · won %s · lost %s (%s)', '', '', rd.open, rd.won, rd.lost,
                       stripe._fmt_money(rd.lost_amount, p_currency));
  END IF;
  RETURN NEXT '';

  -- Customers paying in this currency: new in the period or returning.
  SELECT max(c.customers) FILTER (WHERE c.week IS NULL) AS customers,
         max(c.new_customers) FILTER (WHERE c.week IS NULL) AS new_customers,
         max(c.returning_customers) FILTER (WHERE c.week IS NULL) AS returning_customers,
         max(c.guest_payments) FILTER (WHERE c.week IS NULL) AS guest_payments,
         array_agg(c.new_customers ORDER BY c.week) FILTER (WHERE c.week IS NOT NULL) AS new,
         array_agg(c.returning_customers ORDER BY c.week) FILTER (WHERE c.week IS NOT NULL) AS ret
    INTO x FROM stripe._report_customers(p_from, p_to, p_account, p_livemode, p_currency) c;
  IF x.customers IS NULL THEN
    RETURN NEXT 'Customers';
    RETURN NEXT '  no succeeded payments in this period';
  ELSE
    RETURN NEXT format('Customers paying in %s', cur);
    RETURN NEXT format('  %-14s %8s  %s', 'paying', stripe._fmt_int(x.customers), stripe._bar(x.customers, x.customers, 40));
    RETURN NEXT format('  %-14s %8s  %s', 'new', stripe._fmt_int(x.new_customers), stripe._bar(x.new_customers, x.customers, 40));
    RETURN NEXT format('  %-14s %8s  %s', 'returning', stripe._fmt_int(x.returning_customers), stripe._bar(x.returning_customers, x.customers, 40));
    RETURN NEXT format('  new: first succeeded %s payment in the period; returning: paid before it too', cur);
    IF x.guest_payments > 0 THEN
      RETURN NEXT format('  and %s succeeded payment%s without a customer', stripe._fmt_int(x.guest_payments),
                         CASE WHEN x.guest_payments <> 1 THEN 's' END);
    END IF;
    RETURN NEXT format('  %-24s %s', 'new, per week', stripe._spark(x.new, 70));
    RETURN NEXT format('  %-24s %s', 'returning, per week', stripe._spark(x.ret, 70));
  END IF;
  RETURN NEXT '';

  -- RFM segments as of the end of the period.
  RETURN NEXT format('RFM segments on %s (customers with a succeeded %s payment by then)', stripe._d(p_to), cur);
  RETURN NEXT format('  %-12s %9s  %-30s %6s %18s %10s', 'segment', 'customers', '', 'share', 'avg spent', 'days since');
  FOR x IN SELECT r.*, max(r.customers) OVER () AS top FROM stripe._report_rfm(p_to, p_account, p_livemode, p_currency) r LOOP
    top := x.top;
    RETURN NEXT rtrim(format('  %-12s %9s  %-30s %6s %18s %10s', x.segment, stripe._fmt_int(x.customers),
                             stripe._bar(x.customers, top, 30), stripe._fmt_pct(x.share),
                             coalesce(stripe._fmt_money(round(x.avg_spent), p_currency), ''),
                             coalesce(round(x.avg_recency_days)::text, '')));
  END LOOP;
  RETURN NEXT '';
END $$;
COMMENT ON FUNCTION stripe._report_currency(date, date, text, boolean, text) IS 'The lines of stripe.report() for one currency.';

-- Counts over all currencies: customers created, the checkout funnel, cohort retention.
CREATE FUNCTION stripe._report_shop(p_from date, p_to date, p_account text, p_livemode boolean)
RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
  x    record;
  f    record;
  top  numeric;
  line text;
  k    integer;
  cohorts integer := 0;
  marked boolean := false;
BEGIN
  RETURN NEXT stripe._rule('All currencies');
  SELECT sum(n.new_customers) AS total, array_agg(n.new_customers ORDER BY n.day) AS daily
    INTO x FROM stripe._report_new_customers(p_from, p_to, p_account, p_livemode) n;
  RETURN NEXT format('%-24s %8s', 'Customers created', stripe._fmt_int(x.total));
  IF x.total > 0 THEN
    RETURN NEXT '  per day';
    RETURN NEXT '  ' || stripe._spark(x.daily, 90);
  END IF;
  RETURN NEXT '';

  SELECT * INTO f FROM stripe._report_funnel(p_from, p_to, p_account, p_livemode) WHERE week IS NULL;
  RETURN NEXT 'Checkout funnel (sessions created in the period)';
  IF f.sessions IS NULL THEN
    RETURN NEXT '  no checkout sessions in this period';
  ELSE
    RETURN NEXT format('  %-14s %8s  %s', 'sessions', stripe._fmt_int(f.sessions), stripe._bar(f.sessions, f.sessions, 50));
    RETURN NEXT format('  %-14s %8s  %s', 'completed', stripe._fmt_int(f.completed), stripe._bar(f.completed, f.sessions, 50));
    RETURN NEXT format('  %-14s %8s  %s', 'paid', stripe._fmt_int(f.paid), stripe._bar(f.paid, f.sessions, 50));
    RETURN NEXT format('  %-14s %8s  %s', 'expired', stripe._fmt_int(f.expired), stripe._bar(f.expired, f.sessions, 50));
    SELECT array_agg(w.conversion_rate ORDER BY w.week) AS c INTO x
      FROM stripe._report_funnel(p_from, p_to, p_account, p_livemode) w WHERE w.week IS NOT NULL;
    RETURN NEXT format('  %-14s %8s  completed / (completed + expired); per week %s', 'conversion',
                       stripe._fmt_pct(f.conversion_rate), stripe._spark(x.c, 30));
  END IF;
  RETURN NEXT '';

  RETURN NEXT 'Cohort retention: customers by month of first payment, share paying n months later';
  FOR x IN SELECT * FROM stripe._report_cohorts(p_to, p_account, p_livemode, 6) LOOP
      IF cohorts = 0 THEN
        RETURN NEXT '  cohort    customers' || (SELECT string_agg(lpad('+' || o, 8), '' ORDER BY o) FROM generate_series(0, 5) o);
      END IF;
      line := format('  %-9s %9s', to_char(x.cohort_month, 'YYYY-MM'), stripe._fmt_int(x.cohort_size));
      FOR k IN 1 .. least(cardinality(x.retention), 6) LOOP
        -- shade by retention: █ ≥ 75%, ▓ ≥ 50%, ▒ ≥ 25%, ░ above 0
        line := line || lpad(CASE WHEN x.retention[k] >= 0.75 THEN '█' WHEN x.retention[k] >= 0.5 THEN '▓'
                                  WHEN x.retention[k] >= 0.25 THEN '▒' WHEN x.retention[k] > 0 THEN '░' ELSE ' ' END
                             || lpad(round(100 * x.retention[k]) || '%', 5), 8);
        -- (a running month is the row's last cell: its mark goes after it, columns stay aligned)
        IF x.running AND k = cardinality(x.retention) THEN
          line := line || '*';
          marked := true;
        END IF;
      END LOOP;
      RETURN NEXT line;
      cohorts := cohorts + 1;
  END LOOP;
  IF cohorts = 0 THEN
    RETURN NEXT '  no paying customers yet';
  ELSE
    RETURN NEXT '  █ 75% or more  ▓ 50%  ▒ 25%  ░ less';
    IF marked THEN
      RETURN NEXT '  ' || stripe._running_note(p_to);
    END IF;
  END IF;
END $$;
COMMENT ON FUNCTION stripe._report_shop(date, date, text, boolean) IS 'The lines of stripe.report() counted over all currencies: customers created, checkout funnel, cohort retention.';

CREATE FUNCTION stripe.report(from_date date DEFAULT NULL, to_date date DEFAULT NULL, account text DEFAULT NULL,
                              livemode boolean DEFAULT true, currency text DEFAULT NULL)
RETURNS SETOF text LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
  p_account  text    := report.account;
  p_livemode boolean := coalesce(report.livemode, true);
  p_currency text    := lower(report.currency);
  p          record;
  c          text;
  any_cur    boolean := false;
BEGIN
  SELECT * INTO p FROM stripe._report_period(report.from_date, report.to_date, p_account, p_livemode);
  RETURN QUERY SELECT * FROM stripe._report_header(p.period_from, p.period_to, p.latest, p_account, p_livemode);
  FOR c IN SELECT * FROM stripe._report_currencies(p.period_from, p.period_to, p_account, p_livemode) cc
            WHERE p_currency IS NULL OR cc = p_currency LOOP
    any_cur := true;
    RETURN QUERY SELECT * FROM stripe._report_currency(p.period_from, p.period_to, p_account, p_livemode, c);
  END LOOP;
  IF NOT any_cur THEN
    RETURN NEXT CASE WHEN p_currency IS NULL THEN 'no payments in this period'
                     ELSE format('no %s payments in this period', upper(stripe._fit(p_currency, 10))) END;
    IF p.latest IS NULL THEN  -- nothing at all for this account and mode: say where there is data
      RETURN QUERY SELECT '  there is data for ' || e FROM stripe._report_elsewhere(p_account, p_livemode) e;
      RETURN;
    END IF;
    RETURN NEXT '';
  END IF;
  RETURN QUERY SELECT * FROM stripe._report_shop(p.period_from, p.period_to, p_account, p_livemode);
END $$;
COMMENT ON FUNCTION stripe.report(date, date, text, boolean, text) IS 'Headline figures of a period as text for psql (psql -At -c "select * from stripe.report()"): per currency volume, payments and declines, refunds and disputes, new and returning customers, RFM segments; then customers created, checkout funnel and cohort retention. Period default: the 90 days up to the latest data. account NULL = the platform''s own; livemode true = live data.';

-------------------------------------------------------------------------------
-- HTML and SVG helpers for the dashboard. Every string that comes from data (account ids,
-- decline codes, the time zone setting, currency codes) goes through stripe._html_escape.
-- No chart uses url(), a gradient, an image or a script: a saved page never fetches anything.
-------------------------------------------------------------------------------

-- Text as HTML character data or a double-quoted attribute value: & < > " ' escaped; NULL -> ''.
CREATE FUNCTION stripe._html_escape(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT replace(replace(replace(replace(replace(coalesce(s, ''),
           '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;
COMMENT ON FUNCTION stripe._html_escape(text) IS 'Escapes & < > " and '' for HTML text and attribute values; NULL gives the empty string.';

-- A number in a few characters for axis labels: 950, 2,500, 12k, 1.2M, 3.4B, 0.25.
CREATE FUNCTION stripe._fmt_short(v numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN abs(v) >= 1e9 THEN rtrim(to_char(v / 1e9, 'FM999990.9'), '.') || 'B'
    WHEN abs(v) >= 1e6 THEN rtrim(to_char(v / 1e6, 'FM999990.9'), '.') || 'M'
    WHEN abs(v) >= 1e4 THEN rtrim(to_char(v / 1e3, 'FM999990.9'), '.') || 'k'
    ELSE rtrim(to_char(v, 'FM999,990.99'), '.')  -- FM drops trailing zeros of the fraction
  END
$$;

-- A value as shown to people, by unit: 'money:usd' -> '1,234.56 USD', 'pct' -> '15.3%',
-- anything else -> '1,234'. `short` gives the compact form used on axes.
CREATE FUNCTION stripe._fmt_value(v numeric, unit text, short boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN v IS NULL THEN '–'
    WHEN unit LIKE 'money:%' AND short THEN stripe._fmt_short(stripe.to_major(v, substr(unit, 7)))
    WHEN unit LIKE 'money:%' THEN stripe._fmt_money(v, substr(unit, 7))
    WHEN unit = 'pct' AND short THEN rtrim(to_char(100 * v, 'FM9990.9'), '.') || '%'
    WHEN unit = 'pct' THEN stripe._fmt_pct(v)
    WHEN short THEN stripe._fmt_short(v)
    ELSE stripe._fmt_int(v)
  END
$$;

-- Axis ticks covering [lo, hi] (and 0) in about n steps of 1, 2, 2.5 or 5 times a power of ten
-- (no 2.5 for counts, whose ticks are whole numbers).
CREATE FUNCTION stripe._nice_ticks(lo numeric, hi numeric, n integer DEFAULT 4, integral boolean DEFAULT false)
RETURNS numeric[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  raw  numeric;
  mag  numeric;
  f    numeric;
  step numeric;
  a    numeric;
  b    numeric;
BEGIN
  lo := least(coalesce(lo, 0), 0);
  hi := greatest(coalesce(hi, 0), 0);
  IF hi = lo THEN hi := lo + CASE WHEN integral THEN n ELSE 1 END; END IF;
  raw := (hi - lo) / n;
  mag := 10::numeric ^ floor(log(raw));
  f := raw / mag;
  step := mag * CASE WHEN f <= 1 THEN 1 WHEN f <= 2 THEN 2 WHEN f <= 2.5 AND NOT integral THEN 2.5
                     WHEN f <= 5 THEN 5 ELSE 10 END;
  IF integral THEN step := greatest(1, ceil(step)); END IF;
  a := floor(lo / step) * step;
  b := ceil(hi / step) * step;
  RETURN ARRAY(SELECT trim_scale(a + i * step) FROM generate_series(0, round((b - a) / step)::int) AS i);
END $$;
COMMENT ON FUNCTION stripe._nice_ticks(numeric, numeric, integer, boolean) IS 'Round axis ticks covering lo..hi and 0.';

-- A number for an SVG coordinate: at most one decimal, '.' as separator.
CREATE FUNCTION stripe._n(v numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT round(v, 1)::text
$$;

-- A legend row: a swatch (square for bars, dash for lines) and the name of each series.
CREATE FUNCTION stripe._svg_legend(names text[], colors text[], kinds text[], x integer, y integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  out text := '';
  cx  numeric := x;
BEGIN
  FOR s IN 1 .. coalesce(cardinality(names), 0) LOOP
    IF kinds[s] IN ('line', 'area') THEN
      out := out || format('<rect x="%s" y="%s" width="14" height="3" rx="1.5" fill="%s"/>',
                           stripe._n(cx), y - 5, colors[s]);
    ELSE
      out := out || format('<rect x="%s" y="%s" width="10" height="10" rx="2" fill="%s"/>',
                           stripe._n(cx + 2), y - 9, colors[s]);
    END IF;
    out := out || format('<text x="%s" y="%s" class="legend">%s</text>', stripe._n(cx + 19), y,
                         stripe._html_escape(names[s]));
    cx := cx + 19 + 6.6 * length(names[s]) + 18;
  END LOOP;
  RETURN out;
END $$;

-- A chart of series over evenly spaced dates, as one <svg>:
--   x      the dates (n points), labelled 'Mon D' (grain 'day' or 'week') or 'Mon YYYY' ('month');
--   ys     a 2-D array, one row of n values per series (NULL = no value: a gap in a line);
--   kinds  per series: 'bar' (columns; several bar series stand side by side, or on top of each
--          other when stacked), 'line', or 'area' (a line with a light fill down to zero);
--   unit   'money:<currency>' (values in minor units), 'pct' (rates in [0,1]) or 'count'.
-- Each column slot carries a <title> with the date and every series' value (a hover tooltip,
-- no script). Gridlines and y labels on round ticks; a legend on top.
CREATE FUNCTION stripe._svg_time_chart(x date[], ys numeric[], names text[], colors text[], kinds text[],
                                       unit text, stacked boolean DEFAULT false, grain text DEFAULT 'day',
                                       width integer DEFAULT 560, height integer DEFAULT 240,
                                       label text DEFAULT 'chart', empty_note text DEFAULT 'none in this period')
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  n     integer := coalesce(cardinality(x), 0);
  k     integer := coalesce(array_length(ys, 1), 0);
  ml    integer := 58;  -- left margin: y labels
  mr    integer := 10;
  mt    integer := 30;  -- top: legend
  mb    integer := 24;  -- bottom: dates
  pw    numeric := width - 58 - 10;
  ph    numeric := height - 30 - 24;
  nbar  integer := 0;
  lo    numeric := 0;
  hi    numeric := 0;
  ticks numeric[];
  t_lo  numeric;
  t_hi  numeric;
  sw    numeric;      -- slot width
  gw    numeric;      -- width of a slot's column group
  bw    numeric;      -- width of one column
  svg   text;
  tip   text;
  path  text;
  area  text;
  seg   numeric[];    -- x positions of the current line segment (for the area)
  v     numeric;
  acc   numeric;
  j     integer;
  step  integer;
  cx    numeric;
  y0    numeric;
  prev_null boolean;
  first_x numeric;
  scale numeric := 1;  -- minor units per major unit, for money
BEGIN
  svg := format('<svg viewBox="0 0 %s %s" role="img" aria-label="%s">', width, height, stripe._html_escape(label));
  IF n = 0 OR k = 0 THEN
    RETURN svg || format('<text x="%s" y="%s" text-anchor="middle">no data</text></svg>', width / 2, height / 2);
  END IF;
  FOR s IN 1 .. k LOOP
    IF kinds[s] = 'bar' THEN nbar := nbar + 1; END IF;
  END LOOP;

  -- The value range: stacked columns add up; everything else is per value.
  FOR i IN 1 .. n LOOP
    acc := 0;
    FOR s IN 1 .. k LOOP
      v := ys[s][i];
      CONTINUE WHEN v IS NULL;
      IF stacked AND kinds[s] = 'bar' THEN
        acc := acc + greatest(v, 0);
        hi := greatest(hi, acc);
      ELSE
        hi := greatest(hi, v);
        lo := least(lo, v);
      END IF;
    END LOOP;
  END LOOP;
  IF hi = 0 AND lo = 0 THEN  -- nothing to draw: a baseline and a note
    RETURN svg || format('<line x1="%s" x2="%s" y1="%s" y2="%s" class="axis"/>', ml, ml + pw, mt + ph, mt + ph)
               || format('<text x="%s" y="%s" text-anchor="middle" class="label">%s</text>', stripe._n(ml + pw / 2),
                         stripe._n(mt + ph / 2), stripe._html_escape(empty_note))
               || stripe._svg_legend(names, colors, kinds, ml, 14) || '</svg>';
  END IF;
  -- Round ticks in the unit people read: major units for money (whole ones for JPY and the like).
  IF unit LIKE 'money:%' THEN
    scale := 10::numeric ^ stripe.currency_exponent(substr(unit, 7));
  END IF;
  ticks := ARRAY(SELECT t * scale
                   FROM unnest(stripe._nice_ticks(lo / scale, hi / scale, 4, unit = 'count' OR scale = 1 AND unit LIKE 'money:%')) t);
  t_lo := ticks[1];
  t_hi := ticks[cardinality(ticks)];

  -- Gridlines and y labels.
  FOREACH v IN ARRAY ticks LOOP
    cx := mt + ph * (t_hi - v) / (t_hi - t_lo);
    svg := svg || format('<line x1="%s" x2="%s" y1="%s" y2="%s" class="%s"/>', ml, ml + pw, stripe._n(cx), stripe._n(cx),
                         CASE WHEN v = 0 THEN 'axis' ELSE 'grid' END)
               || format('<text x="%s" y="%s" text-anchor="end">%s</text>', ml - 6, stripe._n(cx + 3.5),
                         stripe._html_escape(stripe._fmt_value(v, unit, true)));
  END LOOP;
  y0 := mt + ph * t_hi / (t_hi - t_lo);

  sw := pw / n;
  gw := sw * CASE WHEN n > 60 THEN 0.8 ELSE 0.7 END;
  bw := CASE WHEN stacked OR nbar = 0 THEN gw ELSE gw / nbar END;

  -- Columns.
  FOR i IN 1 .. n LOOP
    acc := 0;
    j := 0;
    FOR s IN 1 .. k LOOP
      CONTINUE WHEN kinds[s] <> 'bar';
      v := coalesce(ys[s][i], 0);
      IF v <> 0 THEN
        cx := ml + (i - 1) * sw + (sw - gw) / 2 + CASE WHEN stacked THEN 0 ELSE j * bw END;
        IF stacked THEN
          svg := svg || format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>', stripe._n(cx),
                               stripe._n(mt + ph * (t_hi - acc - v) / (t_hi - t_lo)), stripe._n(bw),
                               stripe._n(ph * v / (t_hi - t_lo)), colors[s]);
          acc := acc + v;
        ELSE
          svg := svg || format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>', stripe._n(cx),
                               stripe._n(mt + ph * (t_hi - greatest(v, 0)) / (t_hi - t_lo)), stripe._n(bw),
                               stripe._n(ph * abs(v) / (t_hi - t_lo)), colors[s]);
        END IF;
      END IF;
      j := j + 1;
    END LOOP;
  END LOOP;

  -- Lines (and areas): a path per series, broken where a value is NULL.
  FOR s IN 1 .. k LOOP
    CONTINUE WHEN kinds[s] NOT IN ('line', 'area');
    path := '';
    area := '';
    prev_null := true;
    first_x := NULL;
    FOR i IN 1 .. n + 1 LOOP
      v := CASE WHEN i <= n THEN ys[s][i] END;
      cx := ml + (i - 0.5) * sw;
      IF v IS NULL THEN
        IF NOT prev_null AND kinds[s] = 'area' THEN  -- close the area under the segment just ended
          area := area || format(' L%s,%s L%s,%s Z', stripe._n(cx - sw), stripe._n(y0), stripe._n(first_x), stripe._n(y0));
        END IF;
        prev_null := true;
        CONTINUE;
      END IF;
      IF prev_null THEN
        first_x := cx;
        path := path || format('M%s,%s', stripe._n(cx), stripe._n(mt + ph * (t_hi - v) / (t_hi - t_lo)));
        area := area || format('M%s,%s L%s,%s', stripe._n(cx), stripe._n(y0), stripe._n(cx),
                               stripe._n(mt + ph * (t_hi - v) / (t_hi - t_lo)));
      ELSE
        path := path || format(' L%s,%s', stripe._n(cx), stripe._n(mt + ph * (t_hi - v) / (t_hi - t_lo)));
        area := area || format(' L%s,%s', stripe._n(cx), stripe._n(mt + ph * (t_hi - v) / (t_hi - t_lo)));
      END IF;
      prev_null := false;
    END LOOP;
    IF kinds[s] = 'area' AND area <> '' THEN
      svg := svg || format('<path d="%s" fill="%s" fill-opacity="0.12" stroke="none"/>', area, colors[s]);
    END IF;
    IF path <> '' THEN
      svg := svg || format('<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>',
                           path, colors[s]);
    END IF;
    IF n <= 40 THEN  -- dots on short series
      FOR i IN 1 .. n LOOP
        CONTINUE WHEN ys[s][i] IS NULL;
        svg := svg || format('<circle cx="%s" cy="%s" r="2.6" fill="%s"/>', stripe._n(ml + (i - 0.5) * sw),
                             stripe._n(mt + ph * (t_hi - ys[s][i]) / (t_hi - t_lo)), colors[s]);
      END LOOP;
    END IF;
  END LOOP;

  -- Date labels (about seven) and a transparent hover target per slot with every value.
  step := greatest(1, ceil(n / 7.0)::int);
  FOR i IN 1 .. n LOOP
    IF (i - 1) % step = 0 THEN
      svg := svg || format('<text x="%s" y="%s" text-anchor="middle">%s</text>', stripe._n(ml + (i - 0.5) * sw),
                           height - 7, CASE WHEN grain = 'month' THEN to_char(x[i], 'Mon YYYY') ELSE to_char(x[i], 'Mon FMDD') END);
    END IF;
    tip := CASE grain WHEN 'week' THEN 'week of ' || stripe._d(x[i]) WHEN 'month' THEN to_char(x[i], 'YYYY-MM') ELSE stripe._d(x[i]) END;
    FOR s IN 1 .. k LOOP
      tip := tip || E'\n' || names[s] || ': ' || stripe._fmt_value(ys[s][i], unit);
    END LOOP;
    svg := svg || format('<rect x="%s" y="%s" width="%s" height="%s" class="hover"><title>%s</title></rect>',
                         stripe._n(ml + (i - 1) * sw), mt, stripe._n(sw), stripe._n(ph), stripe._html_escape(tip));
  END LOOP;

  RETURN svg || stripe._svg_legend(names, colors, kinds, ml, 14) || '</svg>';
END $$;
COMMENT ON FUNCTION stripe._svg_time_chart(date[], numeric[], text[], text[], text[], text, boolean, text, integer, integer, text, text) IS 'SVG column/line/area chart of series over dates, with axes, legend and hover titles.';

-- Horizontal bars, one row per label: the label (cut to fit, full text in a hover title), a bar
-- scaled to the largest value, and value_labels[i] after the bar. colors: one per row, or one
-- for all. The label and value columns take the width their texts need.
CREATE FUNCTION stripe._svg_hbars(labels text[], vals numeric[], value_labels text[], colors text[],
                                  width integer DEFAULT 560, label text DEFAULT 'bar chart')
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  n     integer := coalesce(cardinality(labels), 0);
  rh    integer := 30;   -- row height
  lw    numeric;         -- label column: as wide as the longest label, at most 45% of the chart
  vw    numeric;         -- value column: as wide as the longest value label
  bmax  numeric;         -- the longest bar
  top   numeric := 0;
  svg   text;
  y     numeric;
  w     numeric;
BEGIN
  SELECT least(width * 0.45, 14 + 6.8 * max(length(l))) INTO lw FROM unnest(labels) l;
  SELECT 16 + 6.9 * max(length(l)) INTO vw FROM unnest(value_labels) l;
  bmax := greatest(40, width - lw - vw);
  FOR i IN 1 .. n LOOP top := greatest(top, coalesce(vals[i], 0)); END LOOP;
  svg := format('<svg viewBox="0 0 %s %s" role="img" aria-label="%s">', width, n * rh + 6, stripe._html_escape(label));
  FOR i IN 1 .. n LOOP
    y := (i - 1) * rh + 4;
    w := CASE WHEN top > 0 AND vals[i] > 0 THEN greatest(2, bmax * vals[i] / top) ELSE 0 END;
    svg := svg
      || format('<g><title>%s: %s</title>', stripe._html_escape(labels[i]), stripe._html_escape(value_labels[i]))
      || format('<text x="%s" y="%s" text-anchor="end" class="label">%s</text>', stripe._n(lw - 10), stripe._n(y + 16),
                stripe._html_escape(stripe._fit(labels[i], floor((lw - 14) / 6.8)::int)))
      || format('<rect x="%s" y="%s" width="%s" height="20" rx="3" class="track"/>', stripe._n(lw), stripe._n(y + 2), stripe._n(bmax))
      || CASE WHEN w > 0 THEN format('<rect x="%s" y="%s" width="%s" height="20" rx="3" fill="%s"/>', stripe._n(lw), stripe._n(y + 2),
                                     stripe._n(w), colors[least(i, cardinality(colors))]) ELSE '' END
      || format('<text x="%s" y="%s" class="value">%s</text></g>', stripe._n(lw + bmax + 8), stripe._n(y + 16),
                stripe._html_escape(value_labels[i]));
  END LOOP;
  RETURN svg || '</svg>';
END $$;
COMMENT ON FUNCTION stripe._svg_hbars(text[], numeric[], text[], text[], integer, text) IS 'SVG horizontal bar chart with labels, values and hover titles.';

-- The colour of a heat-map cell: white (0) to indigo (1), as rgb(); and whether dark text reads on it.
CREATE FUNCTION stripe._heat_color(r numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT format('rgb(%s,%s,%s)', round(242 - (242 - 79) * c), round(243 - (243 - 70) * c), round(255 - (255 - 229) * c))
    FROM (SELECT least(greatest(coalesce(r, 0), 0), 1) AS c) s
$$;

-- The cohort-retention heat map: a row per cohort (last p_months up to the month of p_to), a
-- column per month offset, each cell the share of the cohort paying in that month.
CREATE FUNCTION stripe._svg_cohort_heatmap(p_to date, p_account text, p_livemode boolean, p_months integer DEFAULT 12,
                                           width integer DEFAULT 560)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  lw   integer := 118;   -- cohort and size labels
  cols integer;          -- month offsets shown: as many as the oldest cohort has, at least 6
  cw   numeric;
  ch   integer := 26;
  rows integer := 0;
  svg  text := '';
  c    record;
  x    numeric;
  y    numeric;
  r    numeric;
  part boolean;          -- the cell of a running month (stripe._report_cohorts)
  marked boolean := false;
BEGIN
  -- (One run of the cohort query: the column count comes with its rows.)
  FOR c IN SELECT x.*, greatest(6, max(cardinality(x.retention)) OVER ()) AS ncols
             FROM stripe._report_cohorts(p_to, p_account, p_livemode, p_months) x LOOP
    IF rows = 0 THEN
      cols := c.ncols;
      cw := (width - lw - 4) / cols::numeric;
      FOR o IN 0 .. cols - 1 LOOP  -- column heads
        svg := svg || format('<text x="%s" y="14" text-anchor="middle">%s</text>', stripe._n(lw + (o + 0.5) * cw),
                             CASE WHEN o = 0 THEN 'M0' ELSE '+' || o END);
      END LOOP;
    END IF;
    y := 22 + rows * ch;
    svg := svg || format('<text x="4" y="%s" class="label">%s</text><text x="%s" y="%s" text-anchor="end">%s</text>',
                         stripe._n(y + 17), to_char(c.cohort_month, 'Mon YYYY'), lw - 8, stripe._n(y + 17),
                         stripe._fmt_int(c.cohort_size));
    FOR o IN 1 .. least(cardinality(c.retention), cols) LOOP
      r := c.retention[o];
      x := lw + (o - 1) * cw;
      part := c.running AND o = cardinality(c.retention);
      marked := marked OR part;
      svg := svg || format('<g><title>%s cohort, month +%s: %s of %s customers paid (%s)%s</title>',
                           to_char(c.cohort_month, 'YYYY-MM'), o - 1, stripe._fmt_int(round(r * c.cohort_size)),
                           stripe._fmt_int(c.cohort_size), stripe._fmt_pct(r),
                           CASE WHEN part THEN format('; the month so far, payments up to %s', stripe._d(p_to)) ELSE '' END)
                 || format('<rect x="%s" y="%s" width="%s" height="%s" rx="3" fill="%s"%s/>', stripe._n(x + 1), stripe._n(y + 1),
                           stripe._n(cw - 2), ch - 2, stripe._heat_color(r),
                           CASE WHEN part THEN ' stroke="#667" stroke-dasharray="3 2"' ELSE '' END)
                 || format('<text x="%s" y="%s" text-anchor="middle" class="%s">%s</text></g>', stripe._n(x + cw / 2),
                           stripe._n(y + 17), CASE WHEN r > 0.55 THEN 'on-dark' ELSE 'value' END,
                           round(100 * r) || '%' || CASE WHEN part THEN '*' ELSE '' END);
    END LOOP;
    rows := rows + 1;
  END LOOP;
  IF rows = 0 THEN
    RETURN '<p class="empty">No paying customers yet.</p>';
  END IF;
  -- Legend: five swatches from 0% to 100%.
  y := 22 + rows * ch + 12;
  svg := svg || format('<text x="4" y="%s">retention</text>', stripe._n(y + 11));
  FOR i IN 0 .. 4 LOOP
    svg := svg || format('<rect x="%s" y="%s" width="34" height="14" rx="2" fill="%s"/><text x="%s" y="%s" text-anchor="middle">%s</text>',
                         lw + i * 38, stripe._n(y), stripe._heat_color(i / 4.0), lw + i * 38 + 17, stripe._n(y + 27), (i * 25) || '%');
  END LOOP;
  IF marked THEN
    svg := svg || format('<text x="%s" y="%s">%s</text>', lw + 5 * 38 + 8, stripe._n(y + 11), stripe._running_note(p_to));
  END IF;
  RETURN format('<svg viewBox="0 0 %s %s" role="img" aria-label="cohort retention">', width, stripe._n(y + 34)) || svg || '</svg>';
END $$;
COMMENT ON FUNCTION stripe._svg_cohort_heatmap(date, text, boolean, integer, integer) IS 'SVG heat map of stripe.cohort_retention: cohorts by month of first payment, share paying n months later.';

-------------------------------------------------------------------------------
-- The dashboard page.
-------------------------------------------------------------------------------

-- The page's stylesheet (system fonts only).
CREATE FUNCTION stripe._dashboard_css() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT $css$
:root { --ink: #1a1f36; --muted: #6b7385; --line: #e3e8ee; --bg: #f5f7fa; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Liberation Sans", "DejaVu Sans", Arial, sans-serif; }
header { background: #0a2540; color: #fff; padding: 22px 40px 20px; }
header h1 { margin: 0 0 10px; font-size: 22px; font-weight: 600; letter-spacing: -0.01em; }
.meta { display: flex; flex-wrap: wrap; gap: 6px 28px; font-size: 13px; color: #aab7c9; }
.meta b { color: #fff; font-weight: 600; }
.badge { display: inline-block; padding: 0 9px; border-radius: 10px; font-size: 12px; font-weight: 700; color: #0a2540; }
.badge.live { background: #3ddc97; } .badge.test { background: #ffb020; }
main { max-width: 1240px; margin: 0 auto; padding: 8px 32px 40px; }
section { margin-top: 26px; }
h2 { font-size: 19px; font-weight: 650; margin: 0 0 12px; padding-bottom: 8px; border-bottom: 2px solid var(--line);
     display: flex; align-items: baseline; gap: 12px; }
h2 small { font-size: 13px; font-weight: 400; color: var(--muted); }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-bottom: 14px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.kpi .label { font-size: 11.5px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.05em; font-weight: 600; }
.kpi .value { font-size: 23px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; white-space: nowrap; }
.kpi .value small { font-size: 13px; font-weight: 500; color: var(--muted); margin-left: 3px; }
.kpi .sub { font-size: 12px; color: var(--muted); margin-top: 1px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px 10px; margin: 0; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.card h3 { margin: 0; font-size: 14px; font-weight: 650; }
.card .note { margin: 1px 0 8px; font-size: 12px; color: var(--muted); }
svg { display: block; width: 100%; height: auto; overflow: visible; }
svg text { font-size: 11px; fill: #6b7385; font-variant-numeric: tabular-nums; }
svg text.legend, svg text.label { fill: #3c4257; font-size: 11.5px; }
svg text.value { fill: #1a1f36; font-weight: 600; }
svg text.on-dark { fill: #fff; font-weight: 600; }
svg line.grid { stroke: #edf0f4; stroke-width: 1; }
svg line.axis { stroke: #c1c9d2; stroke-width: 1; }
svg rect.track { fill: #f2f4f7; }
svg rect.hover { fill: transparent; }
svg rect.hover:hover { fill: rgba(99, 91, 255, 0.07); }
.empty { margin: 8px 0; padding: 22px; text-align: center; color: var(--muted); background: var(--card);
         border: 1px dashed #c9d1db; border-radius: 10px; }
.hint { font-size: 13px; color: var(--muted); }
footer { max-width: 1240px; margin: 0 auto; padding: 0 32px 30px; font-size: 12px; color: var(--muted); }
$css$
$$;

-- A KPI tile: label, value (HTML, already escaped), and a line under it (HTML).
CREATE FUNCTION stripe._html_kpi(label text, value_html text, sub_html text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT format('<div class="kpi"><div class="label">%s</div><div class="value">%s</div><div class="sub">%s</div></div>',
                stripe._html_escape(label), value_html, coalesce(sub_html, ''))
$$;

-- A chart card: title, a note under it, the chart (HTML/SVG); wide cards span the grid.
CREATE FUNCTION stripe._html_card(title text, note text, body text, wide boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT format('<figure class="card%s"><h3>%s</h3><div class="note">%s</div>%s</figure>',
                CASE WHEN wide THEN ' wide' ELSE '' END, stripe._html_escape(title), stripe._html_escape(note), body)
$$;

-- A money KPI value: '3,191.40<small>USD</small>'.
CREATE FUNCTION stripe._html_money(amount numeric, currency text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN amount IS NULL THEN '–'
              ELSE stripe._html_escape(stripe._fmt_amount(amount, currency)) || '<small>' || stripe._html_escape(upper(currency)) || '</small>' END
$$;

-- One currency's section of the dashboard.
CREATE FUNCTION stripe._dashboard_currency(p_from date, p_to date, p_account text, p_livemode boolean, p_currency text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  cur  text := stripe._html_escape(upper(p_currency));
  unit text := 'money:' || p_currency;
  d    record;   -- daily series and period totals
  w    record;   -- weekly series
  rd   record;   -- refunds and disputes
  c    record;   -- customers
  dl   record;   -- declines
  rfm  record;
  html text;
BEGIN
  SELECT array_agg(x.day ORDER BY x.day) AS days, array_agg(x.gross ORDER BY x.day) AS gross,
         array_agg(x.avg7 ORDER BY x.day) AS avg7,
         sum(x.succeeded) AS succeeded, sum(x.failed) AS failed, sum(x.gross) AS total_gross,
         sum(x.net) AS total_net, sum(x.lost) AS lost
    INTO d FROM (SELECT y.*, round(avg(y.gross) OVER (ORDER BY y.day ROWS 6 PRECEDING)) AS avg7
                   FROM stripe._report_daily(p_from, p_to, p_account, p_livemode, p_currency) y) x;
  SELECT array_agg(x.week ORDER BY x.week) AS weeks,
         array_agg(x.succeeded ORDER BY x.week) AS succeeded, array_agg(x.failed ORDER BY x.week) AS failed,
         array_agg(stripe.ratio(x.failed, x.succeeded + x.failed) ORDER BY x.week) AS failure_rate,
         array_agg(x.refunded ORDER BY x.week) AS refunded, array_agg(x.disputed ORDER BY x.week) AS disputed
    INTO w FROM stripe._report_weekly(p_from, p_to, p_account, p_livemode, p_currency) x;
  SELECT * INTO rd FROM stripe._report_refunds_disputes(p_from, p_to, p_account, p_livemode, p_currency);
  SELECT max(x.customers) FILTER (WHERE x.week IS NULL) AS customers,
         max(x.new_customers) FILTER (WHERE x.week IS NULL) AS new_customers,
         max(x.returning_customers) FILTER (WHERE x.week IS NULL) AS returning_customers,
         array_agg(x.week ORDER BY x.week) FILTER (WHERE x.week IS NOT NULL) AS weeks,
         array_agg(x.new_customers ORDER BY x.week) FILTER (WHERE x.week IS NOT NULL) AS new_weekly,
         array_agg(x.returning_customers ORDER BY x.week) FILTER (WHERE x.week IS NOT NULL) AS returning_weekly
    INTO c FROM stripe._report_customers(p_from, p_to, p_account, p_livemode, p_currency) x;
  -- the top 7 decline reasons, and the rest in one row when there are more than 8
  SELECT array_agg(x.label ORDER BY x.rank) AS labels, array_agg(x.failed ORDER BY x.rank) AS failed,
         array_agg(stripe._fmt_int(x.failed) || ' · ' || stripe._fmt_pct(x.share) ORDER BY x.rank) AS value_labels
    INTO dl
    FROM (SELECT least(y.rank, 8) AS rank,
                 CASE WHEN count(*) = 1 THEN min(y.label) ELSE count(*) || ' other reasons' END AS label,
                 sum(y.failed) AS failed, sum(y.share) AS share
            FROM (SELECT coalesce(r.failure_code, '(no code)') || ' · ' || coalesce(r.outcome_reason, '(no reason)') AS label,
                         r.failed, r.share, row_number() OVER (ORDER BY r.failed DESC, r.failure_code, r.outcome_reason) AS rank
                    FROM stripe._report_declines(p_from, p_to, p_account, p_livemode, p_currency) r) y
           GROUP BY 1) x;
  SELECT array_agg(x.segment) AS labels, array_agg(x.customers) AS customers,
         array_agg(stripe._fmt_int(x.customers) || ' · ' || stripe._fmt_pct(x.share)
                   || coalesce(' · avg ' || stripe._fmt_money(round(x.avg_spent), p_currency), '')) AS value_labels
    INTO rfm FROM stripe._report_rfm(p_to, p_account, p_livemode, p_currency) x;

  html := format('<section><h2>%s <small>amounts in %s, never added to other currencies</small></h2>', cur, cur);
  html := html || '<div class="kpis">'
    || stripe._html_kpi('Gross volume', stripe._html_money(d.total_gross, p_currency),
                        stripe._fmt_int(d.succeeded) || ' succeeded payments')
    || stripe._html_kpi('Net volume', stripe._html_money(d.total_net, p_currency), 'after refunds and lost disputes')
    || stripe._html_kpi('Failure rate', stripe._html_escape(stripe._fmt_pct(stripe.ratio(d.failed, d.succeeded + d.failed))),
                        stripe._fmt_int(d.failed) || ' failed of ' || stripe._fmt_int(d.succeeded + d.failed) || ' charges')
    || stripe._html_kpi('Paying customers', stripe._fmt_int(coalesce(c.customers, 0)),
                        stripe._fmt_int(coalesce(c.new_customers, 0)) || ' new · '
                        || stripe._fmt_int(coalesce(c.returning_customers, 0)) || ' returning')
    || stripe._html_kpi('Refunded', stripe._html_money(rd.refunded, p_currency),
                        stripe._fmt_int(rd.refunds) || ' refunds · ' || stripe._fmt_pct(stripe.ratio(rd.refunded, d.total_gross)) || ' of gross')
    || stripe._html_kpi('Disputed', stripe._html_money(rd.disputed, p_currency),
                        stripe._fmt_int(rd.disputes) || ' disputes · ' || stripe._fmt_pct(stripe.ratio(rd.disputes, d.succeeded)) || ' of payments')
    || stripe._html_kpi('Disputes lost', stripe._html_money(rd.lost_amount, p_currency),
                        rd.lost || ' lost · ' || rd.won || ' won · ' || rd.open || ' open')
    || stripe._html_kpi('Average payment', stripe._html_money(round(stripe.ratio(d.total_gross, d.succeeded)), p_currency),
                        'gross volume / succeeded payments')
    || '</div><div class="grid">';

  html := html
    || stripe._html_card('Gross volume per day', format('Captured amount of succeeded charges in %s, and its average over the last 7 days', upper(p_currency)),
         stripe._svg_time_chart(d.days, ARRAY[d.gross, d.avg7], ARRAY['gross volume', '7-day average'],
                                ARRAY['#635bff', '#0a2540'], ARRAY['bar', 'line'], unit, false, 'day', 1160, 260,
                                'volume per day'), true)
    || stripe._html_card('Payments per week', 'Charges by status (week starts Monday)',
         stripe._svg_time_chart(w.weeks, ARRAY[w.succeeded, w.failed]::numeric[], ARRAY['succeeded', 'failed'],
                                ARRAY['#635bff', '#e5484d'], ARRAY['bar', 'bar'], 'count', true, 'week', 560, 240,
                                'payments per week'))
    || stripe._html_card('Failure rate per week', 'failed / (succeeded + failed); gaps are weeks without charges',
         stripe._svg_time_chart(w.weeks, ARRAY[w.failure_rate], ARRAY['failure rate'], ARRAY['#e5484d'], ARRAY['area'],
                                'pct', false, 'week', 560, 240, 'failure rate per week', 'No failed payments in this period'))
    || stripe._html_card('Top decline reasons', 'Failed charges by failure code · outcome reason, with their share',
         CASE WHEN dl.labels IS NULL THEN '<p class="empty">No failed payments in this period.</p>'
              ELSE stripe._svg_hbars(dl.labels, dl.failed, dl.value_labels, ARRAY['#e5484d'], 560, 'decline reasons') END)
    || stripe._html_card('Refunds and disputes per week', format('Refunded and disputed amounts in %s, by the refund''s and dispute''s own date', upper(p_currency)),
         stripe._svg_time_chart(w.weeks, ARRAY[w.refunded, w.disputed]::numeric[], ARRAY['refunded', 'disputed'],
                                ARRAY['#f5a524', '#c2255c'], ARRAY['bar', 'bar'], unit, false, 'week', 560, 240,
                                'refunds and disputes per week', 'No refunds or disputes in this period'))
    || stripe._html_card('New and returning customers per week', format('Paying customers: new = first succeeded %s payment that week', upper(p_currency)),
         stripe._svg_time_chart(c.weeks, ARRAY[c.new_weekly, c.returning_weekly]::numeric[], ARRAY['new', 'returning'],
                                ARRAY['#12b886', '#635bff'], ARRAY['bar', 'bar'], 'count', true, 'week', 560, 240,
                                'new and returning customers per week'))
    || stripe._html_card('RFM segments', format('Customers with a succeeded %s payment by %s, by recency and frequency score', upper(p_currency), stripe._d(p_to)),
         stripe._svg_hbars(rfm.labels, rfm.customers, rfm.value_labels,
                           ARRAY['#12b886', '#635bff', '#4dabf7', '#94d82d', '#f5a524', '#adb5bd'], 560, 'RFM segments'))
    || '</div></section>';
  RETURN html;
END $$;
COMMENT ON FUNCTION stripe._dashboard_currency(date, date, text, boolean, text) IS 'The section of stripe.dashboard_html() for one currency.';

-- The dashboard's section over all currencies: customers created, checkout funnel, cohorts.
CREATE FUNCTION stripe._dashboard_shop(p_from date, p_to date, p_account text, p_livemode boolean)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  f    record;   -- funnel totals
  fw   record;   -- funnel per week
  nc   record;   -- customers created
  html text;
BEGIN
  SELECT * INTO f FROM stripe._report_funnel(p_from, p_to, p_account, p_livemode) x WHERE x.week IS NULL;
  SELECT array_agg(x.week ORDER BY x.week) AS weeks, array_agg(x.conversion_rate ORDER BY x.week) AS conversion
    INTO fw FROM stripe._report_funnel(p_from, p_to, p_account, p_livemode) x WHERE x.week IS NOT NULL;
  SELECT sum(x.new_customers) AS total, array_agg(x.week ORDER BY x.week) AS weeks, array_agg(x.n ORDER BY x.week) AS weekly
    INTO nc FROM (SELECT date_trunc('week', y.day)::date AS week, sum(y.new_customers) AS n, sum(y.new_customers) AS new_customers
                    FROM stripe._report_new_customers(p_from, p_to, p_account, p_livemode) y GROUP BY 1) x;

  html := '<section><h2>All currencies <small>counts of customers and checkout sessions</small></h2><div class="kpis">'
    || stripe._html_kpi('Customers created', stripe._fmt_int(coalesce(nc.total, 0)), 'customer objects created in the period')
    || stripe._html_kpi('Checkout sessions', stripe._fmt_int(coalesce(f.sessions, 0)),
                        stripe._fmt_int(coalesce(f.completed, 0)) || ' completed · ' || stripe._fmt_int(coalesce(f.expired, 0)) || ' expired')
    || stripe._html_kpi('Checkout conversion', stripe._html_escape(stripe._fmt_pct(f.conversion_rate)), 'completed / (completed + expired)')
    || stripe._html_kpi('Checkout paid', stripe._fmt_int(coalesce(f.paid, 0)), 'paid or no payment required')
    || '</div><div class="grid">'
    || stripe._html_card('Cohort retention', 'Customers by month of first succeeded payment; share of each cohort paying again n months later',
                         stripe._svg_cohort_heatmap(p_to, p_account, p_livemode, 12, 560))
    || stripe._html_card('Checkout funnel', 'Checkout sessions created in the period, by outcome',
         CASE WHEN f.sessions IS NULL THEN '<p class="empty">No checkout sessions in this period.</p>'
              ELSE stripe._svg_hbars(ARRAY['sessions', 'completed', 'paid', 'expired'],
                                     ARRAY[f.sessions, f.completed, f.paid, f.expired],
                                     ARRAY[stripe._fmt_int(f.sessions),
                                           stripe._fmt_int(f.completed) || ' · ' || stripe._fmt_pct(stripe.ratio(f.completed, f.sessions)),
                                           stripe._fmt_int(f.paid) || ' · ' || stripe._fmt_pct(stripe.ratio(f.paid, f.sessions)),
                                           stripe._fmt_int(f.expired) || ' · ' || stripe._fmt_pct(stripe.ratio(f.expired, f.sessions))],
                                     ARRAY['#a5b4fc', '#635bff', '#12b886', '#e5484d'], 560, 'checkout funnel')
                   || stripe._svg_time_chart(fw.weeks, ARRAY[fw.conversion], ARRAY['conversion rate per week'],
                                             ARRAY['#635bff'], ARRAY['area'], 'pct', false, 'week', 560, 190,
                                             'checkout conversion per week') END)
    || stripe._html_card('Customers created per week', 'New customer objects (deleted ones included)',
         stripe._svg_time_chart(nc.weeks, ARRAY[nc.weekly]::numeric[], ARRAY['customers created'], ARRAY['#12b886'],
                                ARRAY['bar'], 'count', false, 'week', 1160, 200, 'customers created per week'), true)
    || '</div></section>';
  RETURN html;
END $$;
COMMENT ON FUNCTION stripe._dashboard_shop(date, date, text, boolean) IS 'The section of stripe.dashboard_html() over all currencies.';

CREATE FUNCTION stripe.dashboard_html(from_date date DEFAULT NULL, to_date date DEFAULT NULL, account text DEFAULT NULL,
                                      livemode boolean DEFAULT true)
RETURNS text LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
  p_account  text    := dashboard_html.account;
  p_livemode boolean := coalesce(dashboard_html.livemode, true);
  p          record;
  c          text;
  body       text := '';
  acct_html  text := stripe._html_escape(coalesce(dashboard_html.account, 'platform'));
  hints      text;
BEGIN
  SELECT * INTO p FROM stripe._report_period(dashboard_html.from_date, dashboard_html.to_date, p_account, p_livemode);
  FOR c IN SELECT * FROM stripe._report_currencies(p.period_from, p.period_to, p_account, p_livemode) LOOP
    body := body || stripe._dashboard_currency(p.period_from, p.period_to, p_account, p_livemode, c);
  END LOOP;
  IF body = '' THEN
    SELECT string_agg('<li>' || stripe._html_escape(e) || '</li>', '') INTO hints
      FROM stripe._report_elsewhere(p_account, p_livemode) e;
    body := '<section><div class="empty"><b>No payments in this period.</b>'
            || CASE WHEN p.latest IS NULL AND hints IS NOT NULL
                    THEN '<div class="hint">There is data for:</div><ul class="hint" style="display:inline-block;text-align:left">' || hints || '</ul>'
                    ELSE '' END
            || '</div></section>';
  END IF;
  IF p.latest IS NOT NULL THEN
    body := body || stripe._dashboard_shop(p.period_from, p.period_to, p_account, p_livemode);
  END IF;

  RETURN '<!DOCTYPE html>' || E'\n'
    || '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
    || format('<title>Payments dashboard · %s · %s · %s – %s</title>', acct_html, CASE WHEN p_livemode THEN 'live' ELSE 'test' END,
              stripe._d(p.period_from), stripe._d(p.period_to))
    || '<style>' || stripe._dashboard_css() || '</style></head><body>' || E'\n'
    || '<header><h1>Payments dashboard</h1><div class="meta">'
    || format('<span>Account <b>%s</b></span>', CASE WHEN p_account IS NULL THEN 'platform (own account)' ELSE acct_html END)
    || format('<span>Mode <span class="badge %s">%s</span></span>', CASE WHEN p_livemode THEN 'live' ELSE 'test' END,
              CASE WHEN p_livemode THEN 'LIVE' ELSE 'TEST' END)
    || format('<span>Time zone <b>%s</b></span>', stripe._html_escape(stripe.reporting_timezone()))
    || format('<span>Period <b>%s – %s</b> (%s days)</span>', stripe._d(p.period_from), stripe._d(p.period_to), p.period_to - p.period_from + 1)
    || format('<span>Latest data <b>%s</b></span>', coalesce(stripe._d(p.latest), 'none'))
    || '</div></header>' || E'\n'
    || '<main>' || body || '</main>' || E'\n'
    || format('<footer>pg_stripe · generated %s · days, weeks (Monday) and months in %s · amounts in major units of each currency</footer>',
              to_char(now() AT TIME ZONE stripe.reporting_timezone(), 'YYYY-MM-DD HH24:MI'), stripe._html_escape(stripe.reporting_timezone()))
    || '</body></html>' || E'\n';
END $$;
COMMENT ON FUNCTION stripe.dashboard_html(date, date, text, boolean) IS 'One self-contained HTML page (inline CSS and SVG, no script, font, image or URL) with the period''s charts per currency; save it with psql -XAtc "select stripe.dashboard_html()" > dashboard.html. Same period, account and mode rules as stripe.report().';
