-- pg_stripe 0.3.2 -> 0.3.3 (ALTER EXTENSION pg_stripe UPDATE). Runs in one transaction; instant
-- (definitions only, no table touched).
--
-- 0.3.3: the cohort triangle of stripe.report() and stripe.dashboard_html() marks the month that
-- is still running (the period ends before its last day): its cells count part of a month and
-- read like a drop in retention otherwise. Same figures.
\echo Use "ALTER EXTENSION pg_stripe UPDATE" to load this file. \quit

-- The triangle's rows say whether their last cell is a running month (a new column: the
-- function is dropped and created again, with its grant).
DROP FUNCTION stripe._report_cohorts(date, text, boolean, integer);

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

REVOKE ALL ON FUNCTION stripe._report_cohorts(date, text, boolean, integer), stripe._running_note(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stripe._report_cohorts(date, text, boolean, integer), stripe._running_note(date)
  TO stripe_reader;

CREATE OR REPLACE FUNCTION stripe._report_shop(p_from date, p_to date, p_account text, p_livemode boolean)
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

CREATE OR REPLACE FUNCTION stripe._svg_cohort_heatmap(p_to date, p_account text, p_livemode boolean, p_months integer DEFAULT 12,
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
