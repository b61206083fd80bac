
-------------------------------------------------------------------------------
-- Privileges of §4 reporting (after 90_privileges.sql, which revokes every function from PUBLIC).
-- stripe.report() and stripe.dashboard_html() run as the caller, so a reader needs EXECUTE on
-- them and on the helpers they call; what they read stays subject to the reader's grants and to
-- row-level security per connected account. stripe_admin has them through stripe_reader.
-------------------------------------------------------------------------------

GRANT EXECUTE ON FUNCTION
  stripe._bar(numeric, numeric, integer),
  stripe._spark(numeric[], integer),
  stripe._d(date),
  stripe._fit(text, integer),
  stripe._fmt_amount(numeric, text),
  stripe._fmt_money(numeric, text),
  stripe._fmt_int(numeric),
  stripe._fmt_pct(numeric),
  stripe._report_period(date, date, text, boolean),
  stripe._report_currencies(date, date, text, boolean),
  stripe._report_daily(date, date, text, boolean, text),
  stripe._report_weekly(date, date, text, boolean, text),
  stripe._report_declines(date, date, text, boolean, text),
  stripe._report_refunds_disputes(date, date, text, boolean, text),
  stripe._report_customers(date, date, text, boolean, text),
  stripe._report_rfm(date, text, boolean, text),
  stripe._report_cohorts(date, text, boolean, integer),
  stripe._running_note(date),
  stripe._report_funnel(date, date, text, boolean),
  stripe._report_new_customers(date, date, text, boolean),
  stripe._report_elsewhere(text, boolean),
  stripe._rule(text),
  stripe._report_header(date, date, date, text, boolean),
  stripe._report_currency(date, date, text, boolean, text),
  stripe._report_shop(date, date, text, boolean),
  stripe.report(date, date, text, boolean, text),
  stripe._html_escape(text),
  stripe._fmt_short(numeric),
  stripe._fmt_value(numeric, text, boolean),
  stripe._nice_ticks(numeric, numeric, integer, boolean),
  stripe._n(numeric),
  stripe._svg_legend(text[], text[], text[], integer, integer),
  stripe._svg_time_chart(date[], numeric[], text[], text[], text[], text, boolean, text, integer, integer, text, text),
  stripe._svg_hbars(text[], numeric[], text[], text[], integer, text),
  stripe._heat_color(numeric),
  stripe._svg_cohort_heatmap(date, text, boolean, integer, integer),
  stripe._dashboard_css(),
  stripe._html_kpi(text, text, text),
  stripe._html_card(text, text, text, boolean),
  stripe._html_money(numeric, text),
  stripe._dashboard_currency(date, date, text, boolean, text),
  stripe._dashboard_shop(date, date, text, boolean),
  stripe.dashboard_html(date, date, text, boolean)
TO stripe_reader;

-- The refund rule of §3 (succeeded, not the release of an expired authorization), used by the
-- report's refund counts: a pure function of its arguments.
GRANT EXECUTE ON FUNCTION stripe.refund_counts(text, text) TO stripe_reader;
