// Insert into stripe.events without an SQL statement (see event_log.cpp).
#pragma once

extern "C" {
#include "postgres.h"
}

// Inserts one event with the semantics of
//   INSERT INTO stripe.events (id, type, created, livemode, account, api_version, object_type,
//                              object_id, endpoint, body) VALUES (...) ON CONFLICT (id) DO NOTHING
// values/nulls in that column order (nulls[i] == 'n' for NULL, as for SPI). Returns 1 if the
// row was inserted, 0 for a duplicate id, -1 if the table is not as the extension made it (the
// caller then runs the statement). May ereport: call inside pgs::pg_call.
int pgs_insert_event_direct(Oid relid, const Datum *values, const char *nulls);
