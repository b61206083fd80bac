
-------------------------------------------------------------------------------
-- §2 Ordering rules (SPEC §2 "Object state and ordering").
-------------------------------------------------------------------------------

-- Statuses after which an object does not go back (SPEC §2).
CREATE FUNCTION stripe.is_terminal(kind text, status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(CASE kind
    WHEN 'charge'           THEN status IN ('succeeded', 'failed')
    WHEN 'payment_intent'   THEN status IN ('succeeded', 'canceled')
    WHEN 'refund'           THEN status IN ('succeeded', 'failed', 'canceled')
    WHEN 'dispute'          THEN status IN ('won', 'lost', 'warning_closed')
    WHEN 'checkout.session' THEN status IN ('complete', 'expired')
    WHEN 'invoice'          THEN status IN ('paid', 'void', 'uncollectible')
  END, false)
$$;
COMMENT ON FUNCTION stripe.is_terminal(text, text) IS 'SPEC §2 terminal statuses: on equal event created, a later-arriving event never moves an object out of one.';

-- Does an incoming state replace the stored one? `new_at`/`old_at` are the created of the
-- incoming event and of the event that last set the row.
--  * strictly newer event: yes;  older: no;
--  * equal: the later-arriving event wins, unless the row is a tombstone, or it would leave a
--    terminal status for another one (invoice uncollectible -> paid excepted), or lower a
--    monotone amount (checked by the caller, see _upsert_charge).
CREATE FUNCTION stripe.supersedes(kind text, new_at timestamptz, old_at timestamptz,
                                  new_status text, old_status text,
                                  new_deleted boolean, old_deleted boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT new_at > old_at
      OR (new_at = old_at
          AND NOT old_deleted
          AND (new_deleted
               OR NOT stripe.is_terminal(kind, old_status)
               OR new_status IS NOT DISTINCT FROM old_status
               OR (kind = 'invoice' AND old_status = 'uncollectible' AND new_status = 'paid')))
$$;
COMMENT ON FUNCTION stripe.supersedes(text, timestamptz, timestamptz, text, text, boolean, boolean) IS 'SPEC §2 ordering: whether an incoming object state replaces the stored one.';

