-- customer_rfm scores customers against cut values per partition (stripe._rfm_cuts) instead of
-- percent_rank() windows. Check it against the SPEC's formula written with the window function,
-- over synthetic customers: partitions of every size from 1 to 60 and some larger ones whose
-- n - 1 is a multiple of 5 (where p lands exactly on a score boundary), heavy ties in every
-- dimension, the platform (NULL) account beside connected accounts, and a missing
-- last_payment_at. Rolled back at the end.
BEGIN;
SELECT setseed(0.42);
INSERT INTO stripe.customer_totals (account, livemode, customer, currency, payments, failed_payments, total_spent, refunded,
                                    first_payment_at, last_payment_at)
SELECT CASE WHEN p.n % 3 = 0 THEN NULL ELSE 'acct_rfm' || (p.n % 4) END, p.n % 2 = 0, 'cus_rfm_' || p.n || '_' || i,
       'xr' || chr(97 + p.n % 26) || (p.n / 26),
       1 + (random() * 4)::int, (random() * 2)::int, (random() * 6)::int * 500, 0,
       timestamptz '2026-01-01' + (random() * 30)::int * interval '1 day',
       CASE WHEN i = 3 AND p.n % 7 = 0 THEN NULL
            ELSE timestamptz '2026-03-01' + (random() * 20)::int * interval '1 day' END
  FROM (SELECT n FROM generate_series(1, 60) n UNION ALL VALUES (101), (126), (251), (1001)) p(n),
       generate_series(1, p.n) i;
-- and one customer without a succeeded payment (not scored)
INSERT INTO stripe.customer_totals (account, livemode, customer, currency, payments, failed_payments)
VALUES ('acct_rfm1', true, 'cus_rfm_failed_only', 'xrb0', 0, 2);

CREATE TEMP TABLE expected AS
SELECT account, livemode, customer, currency, r, f, m,
       CASE WHEN r >= 4 AND f >= 4 THEN 'champions'
            WHEN f >= 4 THEN 'loyal'
            WHEN r <= 2 AND f >= 3 THEN 'at_risk'
            WHEN r <= 2 AND f <= 2 THEN 'hibernating'
            WHEN r >= 4 AND f <= 2 THEN 'new'
            ELSE 'promising' END AS segment
  FROM (SELECT account, livemode, customer, currency,
               least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY account, livemode, currency ORDER BY last_payment_at)))::int AS r,
               least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY account, livemode, currency ORDER BY payments)))::int AS f,
               least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY account, livemode, currency ORDER BY total_spent)))::int AS m
          FROM stripe.customer_totals
         WHERE customer LIKE 'cus\_rfm\_%' AND payments >= 1) w;

CREATE TEMP TABLE got AS
SELECT account, livemode, customer, currency, r_score AS r, f_score AS f, m_score AS m, segment
  FROM stripe.customer_rfm('2026-04-01') WHERE customer LIKE 'cus\_rfm\_%';

SELECT (SELECT count(*) FROM expected) AS customers,
       (SELECT count(DISTINCT (account, livemode, currency)) FROM expected) AS partitions,
       (SELECT count(*) FROM (TABLE expected EXCEPT TABLE got) d) AS missing_or_wrong,
       (SELECT count(*) FROM (TABLE got EXCEPT TABLE expected) d) AS unexpected,
       (SELECT count(*) FROM got) = (SELECT count(*) FROM expected) AS same_count;
-- The data exercises what it should: ties, every score, every segment.
SELECT (SELECT array_agg(DISTINCT r ORDER BY r) FROM got) AS r_scores, (SELECT array_agg(DISTINCT f ORDER BY f) FROM got) AS f_scores,
       (SELECT array_agg(DISTINCT m ORDER BY m) FROM got) AS m_scores, (SELECT count(DISTINCT segment) FROM got) AS segments;

-- The report's segments for one partition (its own cuts) count the same customers as
-- customer_rfm: a connected account (1,001 customers) and the platform's own (126).
SELECT p.account, p.currency, s.segment, s.customers,
       (SELECT count(*) FROM got g WHERE g.account IS NOT DISTINCT FROM p.account AND g.livemode = p.livemode
                                     AND g.currency = p.currency AND g.segment = s.segment) AS from_customer_rfm
  FROM (VALUES ('acct_rfm1', false, 'xrn38'), (NULL, true, 'xrw4')) p(account, livemode, currency),
       stripe._report_rfm('2026-03-31', p.account, p.livemode, p.currency) s;

-- The segment table is the SPEC's first-match rules for every (r, f).
SELECT count(*) AS disagreeing_pairs
  FROM generate_series(1, 5) r, generate_series(1, 5) f
 WHERE stripe._rfm_segment(r, f) IS DISTINCT FROM
       CASE WHEN r >= 4 AND f >= 4 THEN 'champions' WHEN f >= 4 THEN 'loyal' WHEN r <= 2 AND f >= 3 THEN 'at_risk'
            WHEN r <= 2 AND f <= 2 THEN 'hibernating' WHEN r >= 4 AND f <= 2 THEN 'new' ELSE 'promising' END;

-- The cut T(k, n) is the least rank with score >= k, for every n up to 600 (exhaustive): over the
-- values 0..n-1 (given in a shuffled order), the value at rank T is T - 1. None for n = 1.
SELECT count(*) AS wrong_cuts
  FROM (SELECT n, stripe._rfm_cuts_of(v ORDER BY (v * 7919) % n) AS cuts
          FROM generate_series(1, 600) n, generate_series(0::bigint, n - 1) v GROUP BY n) a,
       generate_series(2, 5) k
 WHERE a.cuts[k - 1] + 1 IS DISTINCT FROM
       (SELECT min(c) FROM generate_series(0, a.n - 1) c
         WHERE least(5, 1 + floor(5 * (CASE WHEN a.n = 1 THEN 0 ELSE c::float8 / (a.n - 1) END)))::int >= k
        HAVING a.n > 1);
-- NULLs are skipped; the timestamptz form orders 'infinity' (a missing last payment) last.
SELECT stripe._rfm_cuts_of(x) AS with_nulls FROM unnest(ARRAY[5, NULL, 1, NULL, 3, 2, 4]::bigint[]) x;
SELECT stripe._rfm_cuts_of(x) AS one_value FROM unnest(ARRAY[7, NULL]::bigint[]) x;
SELECT stripe._rfm_cuts_of(x) AS no_rows FROM unnest(ARRAY[]::bigint[]) x;
SELECT stripe._rfm_cuts_of(x) AS times
  FROM unnest(ARRAY['infinity', '2026-01-03', '-infinity', '2026-01-01', '2026-01-02', 'infinity']::timestamptz[]) x;
-- A stripe_reader may call it (and the helpers it inlines); a role restricted to one account sees
-- that account's customers only, with the same scores (an account's partitions are its own).
CREATE ROLE regress_rfm_reader IN ROLE stripe_reader;
CREATE ROLE regress_rfm_acct IN ROLE stripe_reader;
INSERT INTO stripe.account_access VALUES ('regress_rfm_acct', 'acct_rfm1');
GRANT SELECT ON got TO regress_rfm_reader, regress_rfm_acct;
SET ROLE regress_rfm_reader;
SELECT count(*) AS reader_sees,
       (SELECT count(*) FROM (SELECT account, livemode, customer, currency, r_score, f_score, m_score, segment
                                FROM stripe.customer_rfm('2026-04-01') WHERE customer LIKE 'cus\_rfm\_%'
                              EXCEPT TABLE got) d) AS differing
  FROM stripe.customer_rfm('2026-04-01') WHERE customer LIKE 'cus\_rfm\_%';
RESET ROLE;
SET ROLE regress_rfm_acct;
SELECT count(*) FILTER (WHERE account IS DISTINCT FROM 'acct_rfm1') AS other_accounts,
       count(*) = (SELECT count(*) FROM got WHERE account = 'acct_rfm1') AS all_of_acct_rfm1,
       (SELECT count(*) FROM (SELECT account, livemode, customer, currency, r_score, f_score, m_score, segment
                                FROM stripe.customer_rfm('2026-04-01') WHERE customer LIKE 'cus\_rfm\_%'
                              EXCEPT TABLE got) d) AS differing
  FROM stripe.customer_rfm('2026-04-01') WHERE customer LIKE 'cus\_rfm\_%';
RESET ROLE;
ROLLBACK;
