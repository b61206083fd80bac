-- bench/sql/naive_ingest.sql: the baselines of bench/ingest.sh.
--
-- naive.*: what a developer would write from a plain reading of SPEC §2 in PL/pgSQL: one jsonb
-- event log (idempotent on the event id) and one jsonb table of the latest state of every object
-- under the ordering rule (newer event wins; on a tie the later arrival wins unless the stored
-- status is terminal; a *.deleted event leaves a tombstone), refunds embedded in a charge
-- included. No typed columns, no aggregates: analytics are computed at query time
-- (bench/sql/naive_reads.sql).
--
-- floor.*: the physical floor: the same bodies stored as jsonb and nothing else, by COPY (one
-- transaction) and by one INSERT per body (one transaction each).

CREATE SCHEMA naive;
CREATE TABLE naive.events (
    id      text PRIMARY KEY,
    type    text NOT NULL,
    created bigint NOT NULL,
    body    jsonb NOT NULL
);
CREATE TABLE naive.objects (
    id      text PRIMARY KEY,
    type    text NOT NULL,      -- the object's "object": charge, refund, customer, ...
    created bigint NOT NULL,    -- created of the event that last set the row
    status  text,
    deleted boolean NOT NULL DEFAULT false,
    data    jsonb NOT NULL
);

CREATE FUNCTION naive.terminal(type text, status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(CASE type
    WHEN 'charge'           THEN status IN ('succeeded', 'failed')
    WHEN 'payment_intent'   THEN status IN ('succeeded', 'canceled')
    WHEN 'refund'           THEN status IN ('succeeded', 'failed', 'canceled')
    WHEN 'dispute'          THEN status IN ('won', 'lost', 'warning_closed')
    WHEN 'checkout.session' THEN status IN ('complete', 'expired')
    WHEN 'invoice'          THEN status IN ('paid', 'void', 'uncollectible')
  END, false)
$$;

CREATE FUNCTION naive.upsert(o jsonb, created bigint, deleted boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO naive.objects AS t (id, type, created, status, deleted, data)
  VALUES (o->>'id', o->>'object', created, o->>'status', deleted, o)
  ON CONFLICT (id) DO UPDATE
     SET created = EXCLUDED.created, status = EXCLUDED.status, deleted = EXCLUDED.deleted, data = EXCLUDED.data
   WHERE EXCLUDED.created > t.created
      OR (EXCLUDED.created = t.created AND NOT t.deleted
          AND (EXCLUDED.deleted OR NOT naive.terminal(t.type, t.status) OR EXCLUDED.status IS NOT DISTINCT FROM t.status));
END $$;

CREATE FUNCTION naive.ingest(body text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  e jsonb := body::jsonb;
  o jsonb := e->'data'->'object';
  created bigint := (e->>'created')::bigint;
  r jsonb;
BEGIN
  INSERT INTO naive.events (id, type, created, body) VALUES (e->>'id', e->>'type', created, e)
  ON CONFLICT (id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN 'duplicate';
  END IF;
  IF o ? 'id' THEN
    PERFORM naive.upsert(o, created, e->>'type' LIKE '%.deleted');
    IF o->>'object' = 'charge' THEN
      FOR r IN SELECT jsonb_array_elements(o->'refunds'->'data') LOOP
        PERFORM naive.upsert(r, created, false);
      END LOOP;
    END IF;
  END IF;
  RETURN 'accepted';
END $$;

CREATE SCHEMA floor;
CREATE TABLE floor.copied (body jsonb NOT NULL);
CREATE TABLE floor.inserted (body jsonb NOT NULL);
