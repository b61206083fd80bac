-- pg_stripe install script. Schema `stripe` is created by CREATE EXTENSION (control file).
\echo Use "CREATE EXTENSION pg_stripe" to load this file. \quit

-------------------------------------------------------------------------------
-- §1 Signature verification: pure functions, no tables.
-------------------------------------------------------------------------------

CREATE FUNCTION stripe.verify_signature(payload text, sig_header text, secret text,
                                        tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS boolean AS 'MODULE_PATHNAME', 'pg_stripe_verify_signature'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.verify_signature(payload bytea, sig_header text, secret text,
                                        tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS boolean AS 'MODULE_PATHNAME', 'pg_stripe_verify_signature'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.verify_signature(payload text, sig_header text, secret text[],
                                        tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS boolean AS 'MODULE_PATHNAME', 'pg_stripe_verify_signature'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.verify_signature(payload bytea, sig_header text, secret text[],
                                        tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS boolean AS 'MODULE_PATHNAME', 'pg_stripe_verify_signature'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.construct_event(payload text, sig_header text, secret text,
                                       tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS jsonb AS 'MODULE_PATHNAME', 'pg_stripe_construct_event'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.construct_event(payload bytea, sig_header text, secret text,
                                       tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS jsonb AS 'MODULE_PATHNAME', 'pg_stripe_construct_event'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.construct_event(payload text, sig_header text, secret text[],
                                       tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS jsonb AS 'MODULE_PATHNAME', 'pg_stripe_construct_event'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION stripe.construct_event(payload bytea, sig_header text, secret text[],
                                       tolerance integer DEFAULT 300, at timestamptz DEFAULT now())
RETURNS jsonb AS 'MODULE_PATHNAME', 'pg_stripe_construct_event'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION stripe.verify_signature(text, text, text, integer, timestamptz) IS
  'True when sig_header (Stripe-Signature) holds a valid v1 HMAC-SHA256 of payload under secret, signed at most tolerance seconds before at. Never raises on bad input.';
COMMENT ON FUNCTION stripe.construct_event(text, text, text, integer, timestamptz) IS
  'Verifies like verify_signature and returns the event as jsonb; raises stripe-node''s message with a pg_stripe SQLSTATE (ST001..ST011) at the first failure.';
