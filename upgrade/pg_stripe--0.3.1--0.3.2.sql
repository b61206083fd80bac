-- pg_stripe 0.3.1 -> 0.3.2 (ALTER EXTENSION pg_stripe UPDATE). Runs in one transaction; instant
-- (two function definitions, no table touched).
--
-- 0.3.2: the payments views (payments_daily, _weekly, _monthly, stripe.payments) no longer start
-- parallel workers for the branch they skip, and amounts in major units cost half as much.
-- Same results.
\echo Use "ALTER EXTENSION pg_stripe UPDATE" to load this file. \quit

-- The planner decides whether a query may use parallel workers before it inlines a
-- set-returning SQL function, from the labels of the functions the query names: the SAFE label
-- of stripe.payments let it run the quarter-hour branch (skipped by the parallel-unsafe
-- stripe._rolled_up) under a Gather, two workers started per read.
ALTER FUNCTION stripe.payments(text, date, date) PARALLEL UNSAFE;

-- round(amount / 10^e, e), written as an exact multiplication by 10^-e (a numeric power and a
-- division cost twice as much, and a view shows three amounts per row). The round() matters for
-- averages, which are not whole minor units.
CREATE OR REPLACE FUNCTION stripe.to_major(amount numeric, currency text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE stripe.currency_exponent(currency)
           WHEN 0 THEN round(amount) WHEN 3 THEN round(amount * 0.001, 3) ELSE round(amount * 0.01, 2) END
$$;
