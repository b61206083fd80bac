// stripe.ingest, stripe.ingest_event and stripe._apply_event (SPEC §2): the Postgres side of
// ingest. The C++ core (src/core/event.cpp) turns a body into typed rows; this file maps those
// rows onto the object tables by column name, logs the event idempotently and calls the
// stripe._apply_* functions (src/sql/25_aggregates.sql), all through SPI plans prepared once per
// backend. The state rules and aggregates live in SQL, where a DBA can read them -- except the
// deltas of a charge's four aggregates, computed by the pure C++ core (src/core/charge_deltas)
// from the facts stripe._apply_charges returns, and applied by the stripe._add_* statements.
#include <openssl/crypto.h>

#include "../core/charge_deltas.hpp"
#include "../core/cohort.hpp"
#include "../core/event.hpp"
#include "../core/signature.hpp"
#include "errors.hpp"
#include "pg_util.hpp"

#include <array>
#include <cstring>
#include <optional>
#include <string>

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "storage/proc.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/array.h"
#include "utils/date.h"
#include "catalog/pg_type.h"
}

namespace pgs {
extern int max_payload_bytes;
extern int rejected_body_prefix;
}  // namespace pgs

namespace {

using pgs::pg_call;
using pgstripe::ColType;
using pgstripe::ObjectKind;

// Per-backend cache of plans and row shapes. Keyed on the OID of stripe.events so a DROP and
// CREATE EXTENSION in the same session (new OIDs) rebuilds it instead of using stale plans.
struct KindShape {
    Oid typid = InvalidOid;
    TupleDesc desc = nullptr;        // copy in TopMemoryContext
    SPIPlanPtr upsert = nullptr;     // SELECT stripe._apply_<table>($1, $2)
    int32 lock_key = 0;              // advisory lock namespace of the table
    std::vector<int> attno_of;       // per position of the core's row columns, 0-based attno
    int account = -1, livemode = -1, event_id = -1;
};

// Charges only: the aggregate upserts of a charge change (see stripe._apply_charges).
struct ChargePlans {
    SPIPlanPtr add_payments = nullptr, add_declines = nullptr, add_methods = nullptr, add_customer = nullptr;
    SPIPlanPtr move_refunds = nullptr, recompute_span = nullptr;
    SPIPlanPtr customer_months = nullptr, set_customer_month = nullptr, drop_customer_month = nullptr,
               add_cohort_cell = nullptr;
};

struct Cache {
    Oid events_relid = InvalidOid;
    ChargePlans charge;
    SPIPlanPtr insert_event = nullptr;
    SPIPlanPtr insert_rejected = nullptr;
    SPIPlanPtr endpoint_secrets = nullptr;
    std::array<KindShape, size_t(ObjectKind::Count_)> kinds;
};
Cache cache;

Oid stripe_namespace() {
    return pg_call([] { return get_namespace_oid("stripe", false); });
}

SPIPlanPtr prepare(const char *sql, int nargs, Oid *types) {
    SPIPlanPtr plan = pg_call([&] {
        SPIPlanPtr p = SPI_prepare(sql, nargs, types);
        if (p == nullptr) elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
        SPI_keepplan(p);
        return p;
    });
    return plan;
}

// Ensures plans exist for this backend and this installation of the extension.
void ensure_cache() {
    Oid nsp = stripe_namespace();
    Oid relid = pg_call([&] { return get_relname_relid("events", nsp); });
    if (relid == InvalidOid) throw pgs::SqlError(ERRCODE_UNDEFINED_TABLE, "stripe.events does not exist");
    if (relid == cache.events_relid) return;
    // (Plans of a previous installation are simply abandoned: a few KB, once per reinstall.)
    cache = Cache{};
    Oid ev_types[10] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONOID};
    cache.insert_event = prepare(
        "INSERT INTO stripe.events (id, type, created, livemode, account, api_version, object_type, object_id, "
        "endpoint, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        10, ev_types);
    Oid rej_types[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID};
    cache.insert_rejected = prepare(
        "INSERT INTO stripe.rejected_deliveries (endpoint, reason, sqlstate, message, detail, sig_header, "
        "body_size, body_prefix) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        8, rej_types);
    Oid sec_types[1] = {TEXTOID};
    cache.endpoint_secrets =
        prepare("SELECT secrets, tolerance FROM stripe._endpoint_secrets($1) WHERE secrets IS NOT NULL", 1, sec_types);
    cache.events_relid = relid;
}

Oid expected_type(ColType t) {
    switch (t) {
        case ColType::Text: return TEXTOID;
        case ColType::Int: return INT8OID;
        case ColType::Bool: return BOOLOID;
        case ColType::Time: return TIMESTAMPTZOID;
        case ColType::Json: return JSONOID;
    }
    return InvalidOid;
}

int find_attno(TupleDesc desc, const char *name, Oid type, const char *table) {
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (!a->attisdropped && std::strcmp(NameStr(a->attname), name) == 0) {
            if (type != InvalidOid && a->atttypid != type)
                throw pgs::SqlError(ERRCODE_DATATYPE_MISMATCH, std::string("column stripe.") + table + "." + name +
                                                                    " has an unexpected type");
            return i;
        }
    }
    throw pgs::SqlError(ERRCODE_UNDEFINED_COLUMN, std::string("column stripe.") + table + "." + name + " is missing");
}

// Advisory-lock keys: (hash of the table name, hash of the Stripe id). A hash collision only
// serializes two unrelated objects for a moment.
int32 lock_namespace(const char *table) {
    return static_cast<int32>(hash_bytes(reinterpret_cast<const unsigned char *>(table), static_cast<int>(strlen(table))));
}

const std::string *text_col(const pgstripe::Row &row, const char *name) {
    for (const auto &c : row.cols)
        if (!c.value.null && c.value.type == ColType::Text && std::strcmp(c.name, name) == 0) return &c.value.s;
    return nullptr;
}

// Holds, until the end of the transaction, the lock that serializes every change of one object.
// Taken before the object's statement runs, so that statement's snapshot sees the latest
// committed state of the row (see src/sql/25_aggregates.sql).
void lock_object(int32 ns, const std::string &id) {
    int32 key = static_cast<int32>(hash_bytes(reinterpret_cast<const unsigned char *>(id.data()), static_cast<int>(id.size())));
    pg_call([&] { DirectFunctionCall2(pg_advisory_xact_lock_int4, Int32GetDatum(ns), Int32GetDatum(key)); });
}

// Object locks last until commit, so one transaction that ingests a whole backfill would need a
// lock per object and exhaust the shared lock table. Every ingesting transaction therefore also
// holds one "ingest" lock: shared normally; after kMaxObjectLocks object locks the transaction
// takes it exclusively instead -- it then waits for the other ingest transactions to finish,
// runs alone, and needs no more object locks (nobody else can change an object under it).
constexpr int kMaxObjectLocks = 1000;
struct TxLocks {
    // Keyed on the subtransaction too: the locks of a subtransaction that rolls back (a
    // savepoint) are released with it, so a new one starts counting and locking afresh.
    LocalTransactionId lxid = InvalidLocalTransactionId;
    SubTransactionId subxid = InvalidSubTransactionId;
    int object_locks = 0;
    bool exclusive = false;
};
TxLocks tx_locks;

// cohort_payment (below) reads a customer's months, then writes them: sessions paying the
// same customer must take turns. Counted with the object locks (same budget, same switch to the
// exclusive ingest lock); taken after the event's objects, customers in key order.
void lock_customer(const pgstripe::OptText &account, bool livemode, const std::string &customer) {
    static const int32 ns = lock_namespace("stripe.customer_months");
    // tx_locks describes this transaction only if an ingest of it took the event's locks
    // (stripe._apply_event without the log takes none, and locks every customer).
    const bool counted = tx_locks.lxid == MyProc->lxid && tx_locks.subxid == GetCurrentSubTransactionId();
    if (counted && tx_locks.exclusive) return;
    lock_object(ns, (account ? *account : std::string()) + (livemode ? "|live|" : "|test|") + customer);
    if (counted) tx_locks.object_locks++;
}

// Takes the locks an event's objects need before the event is logged (see apply()).
void lock_event_objects(const pgstripe::Event &ev, const std::vector<int32> &namespaces) {
    static const int32 ingest_ns = lock_namespace("stripe.ingest");
    static const int32 charges_ns = lock_namespace("charges");
    if (tx_locks.lxid != MyProc->lxid || tx_locks.subxid != GetCurrentSubTransactionId()) {
        tx_locks = TxLocks{};
        tx_locks.lxid = MyProc->lxid;
        tx_locks.subxid = GetCurrentSubTransactionId();
        pg_call([&] { DirectFunctionCall2(pg_advisory_xact_lock_shared_int4, Int32GetDatum(ingest_ns), Int32GetDatum(0)); });
    }
    if (tx_locks.exclusive) return;
    // Per row: a refund's charge and the object; for a charge, up to two customers later
    // (lock_customer: the one its payment leaves and the one it joins).
    if (tx_locks.object_locks + 4 * static_cast<int>(ev.rows.size()) > kMaxObjectLocks) {
        pg_call([&] { DirectFunctionCall2(pg_advisory_xact_lock_int4, Int32GetDatum(ingest_ns), Int32GetDatum(0)); });
        tx_locks.exclusive = true;
        return;
    }
    for (size_t i = 0; i < ev.rows.size(); i++) {
        const pgstripe::Row &row = ev.rows[i];
        // Lock order, the same in every session: a refund's charge, then the object itself.
        if (row.kind == ObjectKind::Refund)
            if (const std::string *charge = text_col(row, "charge")) {
                lock_object(charges_ns, *charge);
                tx_locks.object_locks++;
            }
        lock_object(namespaces[i], *text_col(row, "id"));
        tx_locks.object_locks++;
    }
}

// The aggregate shard of this transaction: the lowest number in 0..63 that no other transaction
// in flight holds (a transaction-level advisory lock), so concurrent ingest transactions never
// queue on, or deadlock over, each other's aggregate rows. Claimed per transaction, not per
// session, so the aggregate tables get as many rows per bucket as transactions ever ran at once
// in it -- not one set per connection a pool ever opened (a pool of 10 made every read of them
// scan 5x the rows of two sessions). stripe.compact_aggregates() folds the shards nobody holds.
// With more than 64 ingesting transactions at once, shards are shared: still correct (the rows
// are added to, never overwritten), only contended.
int16 txn_shard() {
    static LocalTransactionId lxid = InvalidLocalTransactionId;
    static SubTransactionId subxid = InvalidSubTransactionId;
    static int16 shard = -1;
    if (lxid == MyProc->lxid && subxid == GetCurrentSubTransactionId()) return shard;
    static const int32 ns = lock_namespace("stripe.shard");
    auto try_lock = [&](int i) {
        return pg_call([&] {
            return DatumGetBool(DirectFunctionCall2(pg_try_advisory_xact_lock_int4, Int32GetDatum(ns), Int32GetDatum(i)));
        });
    };
    // Another subtransaction of the same transaction keeps its shard: taking again a lock this
    // transaction holds succeeds. It fails only if a subtransaction that took it was rolled back
    // (which releases the lock) and another transaction has claimed the number since.
    int16 got = -1;
    if (lxid == MyProc->lxid && shard >= 0 && try_lock(shard)) got = shard;
    for (int i = 0; i < 64 && got < 0; i++)
        if (try_lock(i)) got = static_cast<int16>(i);
    if (got < 0) got = static_cast<int16>(MyProcPid % 64);
    lxid = MyProc->lxid;
    subxid = GetCurrentSubTransactionId();
    shard = got;
    return shard;
}

Datum text_datum(std::string_view s);

// The source text of the SQL function stripe.<name> (one overload), read from the catalog.
std::string function_body(const char *name) {
    Oid args[1] = {TEXTOID};
    Datum val[1] = {text_datum(std::string(name))};
    std::string out;
    bool found = false;
    char *src = pg_call([&] {
        int rc = SPI_execute_with_args(
            "SELECT p.prosrc FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'stripe' AND p.proname = $1 AND p.prolang = "
            "(SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'sql')",
            1, args, val, nullptr, true, 2);
        if (rc != SPI_OK_SELECT || SPI_processed != 1) return static_cast<char *>(nullptr);
        return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    });
    if (src) {
        out = src;
        found = true;
    }
    if (!found) throw pgs::SqlError(ERRCODE_UNDEFINED_FUNCTION, std::string("stripe.") + name + " is missing");
    return out;
}

KindShape &shape_for(const pgstripe::Row &row) {
    KindShape &k = cache.kinds[size_t(row.kind)];
    if (k.upsert) return k;
    const char *table = pgstripe::kind_table(row.kind);
    Oid nsp = stripe_namespace();
    Oid relid = pg_call([&] { return get_relname_relid(table, nsp); });
    if (relid == InvalidOid) throw pgs::SqlError(ERRCODE_UNDEFINED_TABLE, std::string("stripe.") + table + " is missing");
    Oid typid = pg_call([&] { return get_rel_type_id(relid); });
    TupleDesc desc = pg_call([&] {
        MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
        TupleDesc d = lookup_rowtype_tupdesc_copy(typid, -1);
        MemoryContextSwitchTo(old);
        return d;
    });
    std::vector<int> attno;
    for (const auto &c : row.cols) attno.push_back(find_attno(desc, c.name, expected_type(c.value.type), table));
    int account = find_attno(desc, "account", TEXTOID, table);
    int livemode = find_attno(desc, "livemode", BOOLOID, table);
    int event_id = find_attno(desc, "event_id", TEXTOID, table);
    // The statement is the body of the SQL function stripe._apply_<table>(row, shard), prepared
    // here as a statement of its own: calling the function would plan its body at every call.
    std::string fn = std::string("_apply_") + table;
    std::string body = function_body(fn.c_str());
    Oid types[2] = {typid, INT2OID};
    SPIPlanPtr plan = prepare(body.c_str(), 2, types);
    if (row.kind == ObjectKind::Charge) {
        ChargePlans &cp = cache.charge;
        Oid pay[8] = {TIMESTAMPTZOID, TEXTOID, BOOLOID, TEXTOID, INT2OID, INT8OID, INT8OID, INT8OID};
        cp.add_payments = prepare(function_body("_add_payments").c_str(), 8, pay);
        Oid dec[6] = {TEXTOID, BOOLOID, TEXTOID, TEXTOID, INT2OID, INT8OID};
        cp.add_declines = prepare(function_body("_add_declines").c_str(), 6, dec);
        Oid met[8] = {TEXTOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, INT2OID, INT8OID, INT8OID};
        cp.add_methods = prepare(function_body("_add_methods").c_str(), 8, met);
        Oid cus[8] = {TEXTOID, BOOLOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID};
        cp.add_customer = prepare(function_body("_add_customer").c_str(), 8, cus);
        Oid mov[2] = {TEXTOID, INT2OID};
        cp.move_refunds = prepare(function_body("_move_refunds").c_str(), 2, mov);
        Oid span[4] = {TEXTOID, BOOLOID, TEXTOID, TEXTOID};
        cp.recompute_span = prepare("SELECT stripe._recompute_customer_span($1, $2, $3, $4)", 4, span);
        Oid cmo[4] = {TEXTOID, BOOLOID, TEXTOID, TIMESTAMPTZOID};
        cp.customer_months = prepare(function_body("_customer_months_of").c_str(), 4, cmo);
        Oid scm[6] = {TEXTOID, TEXTOID, BOOLOID, TEXTOID, DATEOID, INT8OID};
        cp.set_customer_month = prepare(function_body("_set_customer_month").c_str(), 6, scm);
        cp.drop_customer_month = prepare(function_body("_drop_customer_month").c_str(), 5, scm);
        Oid cel[8] = {TEXTOID, TEXTOID, BOOLOID, DATEOID, DATEOID, INT2OID, INT8OID, INT8OID};
        cp.add_cohort_cell = prepare(function_body("_add_cohort_cell").c_str(), 8, cel);
    }
    k.lock_key = lock_namespace(table);
    k.typid = typid;
    k.desc = desc;
    k.attno_of = std::move(attno);
    k.account = account;
    k.livemode = livemode;
    k.event_id = event_id;
    k.upsert = plan;
    return k;
}

// unix seconds -> timestamptz, refusing values outside Postgres' range.
constexpr int64_t kEpochShift = 946684800;
// Postgres timestamps span 4713 BC .. 294276 AD; Stripe's are 1970-2100. Keep a wide, safe
// window that cannot overflow the microsecond arithmetic.
bool time_in_range(int64_t secs) { return secs >= -210866803200LL && secs <= 9224318015999LL - kEpochShift; }

TimestampTz to_timestamptz(int64_t secs, const char *what) {
    if (!time_in_range(secs))
        throw pgs::SqlError(pgs::ST_INVALID_EVENT, "invalid event", std::string("field ") + what + " is out of range");
    return (secs - kEpochShift) * USECS_PER_SEC;
}

// Whether every timestamp of the event converts; else the reason, as to_timestamptz words it.
// Checked before anything is written so that stripe.ingest can answer `rejected` (not raise).
bool times_in_range(const pgstripe::Event &ev, std::string *error) {
    if (!time_in_range(ev.created)) {
        *error = "field created is out of range";
        return false;
    }
    for (const auto &row : ev.rows)
        for (const auto &c : row.cols)
            if (c.value.type == ColType::Time && !c.value.null && !time_in_range(c.value.i)) {
                *error = std::string("field ") + c.name + " is out of range";
                return false;
            }
    return true;
}

// A text Datum of UTF-8 bytes, converted to the server encoding if it differs. Takes a view, so
// the event body and the objects' data slices are copied once (into the Datum), not twice.
Datum text_datum(std::string_view s) {
    const char *p = s.data();
    int len = static_cast<int>(s.size());
    return pg_call([&] {
        if (GetDatabaseEncoding() == PG_UTF8) return PointerGetDatum(cstring_to_text_with_len(p, len));
        char *server = pg_any_to_server(p, len, PG_UTF8);
        // No conversion needed: pg_any_to_server returns the input, which is not NUL-terminated.
        if (server == p) return PointerGetDatum(cstring_to_text_with_len(p, len));
        return PointerGetDatum(cstring_to_text(server));
    });
}

// A stripe._charge_facts value copied out of SPI's tuple (plain data: it crosses pg_call).
struct RawFacts {
    bool present;
    char *text[8];  // attributes kFactsText, in that order; NULL for SQL NULL
    bool livemode, has_created, has_amount;
    TimestampTz created;
    int64 amount_captured;
};
// account, status, currency, customer, failure_code, outcome_reason, payment_method_type, card_brand
constexpr int kFactsText[8] = {1, 4, 6, 7, 8, 9, 10, 11};

struct ApplyResult {
    bool applied, refunds_to_move;
    RawFacts old_state, new_state;
};

// Inside pg_call only.
void read_facts(HeapTuple tuple, TupleDesc desc, int col, RawFacts *f) {
    bool isnull;
    Datum d = SPI_getbinval(tuple, desc, col, &isnull);
    *f = RawFacts{};
    if (isnull) return;
    f->present = true;
    HeapTupleHeader h = DatumGetHeapTupleHeader(d);
    for (int i = 0; i < 8; i++) {
        Datum v = GetAttributeByNum(h, kFactsText[i], &isnull);
        f->text[i] = isnull ? nullptr : TextDatumGetCString(v);
    }
    Datum v = GetAttributeByNum(h, 2, &isnull);
    f->livemode = !isnull && DatumGetBool(v);
    v = GetAttributeByNum(h, 3, &isnull);
    f->has_created = !isnull;
    if (!isnull) f->created = DatumGetTimestampTz(v);
    v = GetAttributeByNum(h, 5, &isnull);
    f->has_amount = !isnull;
    if (!isnull) f->amount_captured = DatumGetInt64(v);
}

pgstripe::ChargeFacts to_facts(const RawFacts &r) {
    auto opt = [](const char *p) { return p ? pgstripe::OptText(p) : std::nullopt; };
    pgstripe::ChargeFacts f;
    f.account = opt(r.text[0]);
    f.status = opt(r.text[1]);
    f.currency = opt(r.text[2]);
    f.customer = opt(r.text[3]);
    f.failure_code = opt(r.text[4]);
    f.outcome_reason = opt(r.text[5]);
    f.payment_method_type = opt(r.text[6]);
    f.card_brand = opt(r.text[7]);
    f.livemode = r.livemode;
    if (r.has_created) f.created = r.created;
    if (r.has_amount) f.amount_captured = r.amount_captured;
    return f;
}

// Parameters of a prepared statement. Text read back from the database is already in the
// server encoding: no conversion.
struct Args {
    Datum v[8] = {};
    char n[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
    int k = 0;
    void null() { n[k++] = 'n'; }
    void datum(Datum d) { v[k++] = d; }
    void text(const std::string &t) {
        const char *p = t.data();
        int len = static_cast<int>(t.size());
        v[k++] = pg_call([&] { return PointerGetDatum(cstring_to_text_with_len(p, len)); });
    }
    void text(const pgstripe::OptText &t) { t ? text(*t) : null(); }
    void boolean(bool b) { v[k++] = BoolGetDatum(b); }
    void i16(int16 x) { v[k++] = Int16GetDatum(x); }
    void i64(int64_t x) { v[k++] = Int64GetDatum(x); }
    void time(std::optional<int64_t> t) { t ? void(v[k++] = TimestampTzGetDatum(*t)) : null(); }
};

void run_plan(SPIPlanPtr plan, const Args &a) {
    pg_call([&] {
        int rc = SPI_execute_plan(plan, const_cast<Datum *>(a.v), a.n, false, 0);
        if (rc < 0) elog(ERROR, "stripe aggregate update failed: %s", SPI_result_code_string(rc));
    });
}

// A customer's months in one reporting zone, as stripe._customer_months_of returns them (palloc'd
// inside pg_call; read into C++ outside it).
struct RawZone {
    char *zone;
    DateADT month;
    Datum *months;
    int nmonths;
    int64 total, in_month;
};
struct RawZones {
    RawZone *z;
    int n;
};

// cohort_retention: one succeeded payment arrives at (+1) or leaves (-1) a customer.
void cohort_payment(const pgstripe::CohortDelta &x, int16 shard) {
    const ChargePlans &cp = cache.charge;
    lock_customer(x.account, x.livemode, x.customer);
    Args a;
    a.text(x.account), a.boolean(x.livemode), a.text(x.customer), a.time(x.created);
    const RawZones rz = pg_call([&] {
        int rc = SPI_execute_plan(cp.customer_months, a.v, a.n, false, 0);
        if (rc != SPI_OK_SELECT) elog(ERROR, "stripe._customer_months_of failed: %s", SPI_result_code_string(rc));
        RawZones r{static_cast<RawZone *>(palloc0(sizeof(RawZone) * (SPI_processed + 1))), static_cast<int>(SPI_processed)};
        for (int i = 0; i < r.n; i++) {
            HeapTuple t = SPI_tuptable->vals[i];
            TupleDesc d = SPI_tuptable->tupdesc;
            bool isnull;
            r.z[i].zone = TextDatumGetCString(SPI_getbinval(t, d, 1, &isnull));
            r.z[i].month = DatumGetDateADT(SPI_getbinval(t, d, 2, &isnull));
            Datum months = SPI_getbinval(t, d, 3, &isnull);
            if (!isnull)
                deconstruct_array(DatumGetArrayTypeP(months), DATEOID, sizeof(DateADT), true, TYPALIGN_INT,
                                  &r.z[i].months, nullptr, &r.z[i].nmonths);
            r.z[i].total = DatumGetInt64(SPI_getbinval(t, d, 4, &isnull));
            r.z[i].in_month = DatumGetInt64(SPI_getbinval(t, d, 5, &isnull));
        }
        return r;
    });
    for (int i = 0; i < rz.n; i++) {
        const RawZone &z = rz.z[i];
        pgstripe::CustomerMonths before;
        for (int k = 0; k < z.nmonths; k++) before.months.push_back(DatumGetDateADT(z.months[k]));
        before.total = z.total;
        before.in_month = z.in_month;
        pgstripe::CohortChange ch;
        try {
            ch = pgstripe::cohort_change(before, z.month, x.delta);
        } catch (const std::domain_error &) {
            throw pgs::SqlError(ERRCODE_DATA_CORRUPTED, "stripe.customer_months is out of step with stripe.charges",
                                "A payment would leave a month in which its customer has none.",
                                "Run SELECT stripe.rebuild() to recompute every aggregate from the event log.");
        }
        const std::string zone = z.zone;
        Args w;
        w.text(zone), w.text(x.account), w.boolean(x.livemode), w.text(x.customer), w.datum(DateADTGetDatum(z.month));
        if (ch.in_month > 0) {
            w.i64(ch.in_month);
            run_plan(cp.set_customer_month, w);
        } else {
            run_plan(cp.drop_customer_month, w);
        }
        for (const auto &c : ch.cells) {
            Args k;
            k.text(zone), k.text(x.account), k.boolean(x.livemode);
            k.datum(DateADTGetDatum(c.cohort_month)), k.datum(DateADTGetDatum(c.month));
            k.i16(shard), k.i64(c.customers), k.i64(c.repeaters);
            run_plan(cp.add_cohort_cell, k);
        }
    }
}

// Moves the aggregates from a charge's old state to its new one (only the rows that change).
void charge_aggregates(const pgstripe::ChargeFacts *old, const pgstripe::ChargeFacts &now, int16 shard) {
    const pgstripe::ChargeDeltas d = pgstripe::charge_deltas(old, now);
    const ChargePlans &cp = cache.charge;
    for (const auto &x : d.payments) {
        Args a;
        a.time(x.created), a.text(x.account), a.boolean(x.livemode), a.text(x.currency), a.i16(shard);
        a.i64(x.succeeded), a.i64(x.failed), a.i64(x.gross);
        run_plan(cp.add_payments, a);
    }
    for (const auto &x : d.declines) {
        Args a;
        a.text(x.account), a.boolean(x.livemode), a.text(x.failure_code), a.text(x.outcome_reason), a.i16(shard);
        a.i64(x.failed);
        run_plan(cp.add_declines, a);
    }
    for (const auto &x : d.methods) {
        Args a;
        a.text(x.account), a.boolean(x.livemode), a.text(x.currency), a.text(x.payment_method_type);
        a.text(x.card_brand), a.i16(shard), a.i64(x.succeeded), a.i64(x.gross);
        run_plan(cp.add_methods, a);
    }
    for (const auto &x : d.customers) {
        Args a;
        a.text(x.account), a.boolean(x.livemode), a.text(x.customer), a.text(x.currency);
        a.i64(x.payments), a.i64(x.failed), a.i64(x.spent), a.time(x.paid_at);
        run_plan(cp.add_customer, a);
    }
    if (d.recompute_span) {
        Args a;
        a.text(d.recompute_span->account), a.boolean(d.recompute_span->livemode);
        a.text(d.recompute_span->customer), a.text(d.recompute_span->currency);
        run_plan(cp.recompute_span, a);
    }
    for (const auto &x : d.cohort) cohort_payment(x, shard);
}

// Executes one object upsert; returns whether the row changed.
// aggregates = false passes a NULL shard: the statement then changes the object only (replay).
bool upsert_row(const pgstripe::Event &ev, const pgstripe::Row &row, Datum event_id, bool aggregates) {
    KindShape &k = shape_for(row);
    std::vector<Datum> values(k.desc->natts, 0);
    std::vector<bool> nulls(k.desc->natts, true);
    for (size_t i = 0; i < row.cols.size(); i++) {
        const pgstripe::Value &v = row.cols[i].value;
        int a = k.attno_of[i];
        if (v.null) continue;
        nulls[a] = false;
        switch (v.type) {
            case ColType::Text: values[a] = text_datum(v.s); break;
            case ColType::Int: values[a] = Int64GetDatum(v.i); break;
            case ColType::Bool: values[a] = BoolGetDatum(v.i != 0); break;
            case ColType::Time: values[a] = TimestampTzGetDatum(to_timestamptz(v.i, row.cols[i].name)); break;
            case ColType::Json: values[a] = text_datum(v.raw); break;
        }
    }
    if (ev.has_account) {
        values[k.account] = text_datum(ev.account);
        nulls[k.account] = false;
    }
    values[k.livemode] = BoolGetDatum(ev.livemode);
    nulls[k.livemode] = false;
    values[k.event_id] = event_id;
    nulls[k.event_id] = false;

    std::vector<char> pg_nulls(nulls.size());
    for (size_t i = 0; i < nulls.size(); i++) pg_nulls[i] = nulls[i] ? 1 : 0;
    Datum *vals = values.data();
    // heap_form_tuple takes bool[]; std::vector<bool> has no data(), hence the char copy.
    const char *pn = pg_nulls.data();
    int natts = k.desc->natts;
    TupleDesc desc = k.desc;
    SPIPlanPtr plan = k.upsert;
    int16 shard = aggregates ? txn_shard() : 0;  // replay writes no aggregate row
    bool charge = row.kind == ObjectKind::Charge;
    ApplyResult res = pg_call([&] {
        bool *isnull = static_cast<bool *>(palloc(sizeof(bool) * natts));
        for (int i = 0; i < natts; i++) isnull[i] = pn[i] != 0;
        HeapTuple tup = heap_form_tuple(desc, vals, isnull);
        Datum args[2] = {HeapTupleGetDatum(tup), Int16GetDatum(shard)};
        const char argnulls[2] = {' ', aggregates ? ' ' : 'n'};
        int rc = SPI_execute_plan(plan, args, argnulls, false, 1);
        ApplyResult r{};
        // A plain upsert (INSERT ... RETURNING) returns no row when the state was not applied.
        if (rc == SPI_OK_INSERT_RETURNING && SPI_processed == 0) return r;
        if ((rc != SPI_OK_SELECT && rc != SPI_OK_INSERT_RETURNING) || SPI_processed != 1)
            elog(ERROR, "stripe apply failed: %s", SPI_result_code_string(rc));
        HeapTuple out = SPI_tuptable->vals[0];
        TupleDesc rdesc = SPI_tuptable->tupdesc;
        bool null_applied;
        Datum applied = SPI_getbinval(out, rdesc, 1, &null_applied);
        r.applied = !null_applied && DatumGetBool(applied);
        // stripe._apply_charges: (applied, old_state, new_state, refunds_to_move)
        if (charge && r.applied) {
            if (rdesc->natts != 4) elog(ERROR, "stripe._apply_charges returned an unexpected row");
            read_facts(out, rdesc, 2, &r.old_state);
            read_facts(out, rdesc, 3, &r.new_state);
            bool n;
            Datum move = SPI_getbinval(out, rdesc, 4, &n);
            r.refunds_to_move = !n && DatumGetBool(move);
        }
        return r;
    });
    if (charge && res.applied) {
        if (aggregates) {
            std::optional<pgstripe::ChargeFacts> old;
            if (res.old_state.present) old = to_facts(res.old_state);
            charge_aggregates(old ? &*old : nullptr, to_facts(res.new_state), shard);
        }
        if (res.refunds_to_move) {
            Args a;
            a.datum(text_datum(*text_col(row, "id")));  // from the event: UTF-8, converted
            if (aggregates) a.i16(shard); else a.null();
            run_plan(cache.charge.move_refunds, a);
        }
    }
    return res.applied;
}

enum class Outcome { Accepted, Duplicate };

// Logs the event (unless replaying) and applies its rows. Caller has SPI connected.
Outcome apply(const pgstripe::Event &ev, std::string_view body, const char *endpoint, bool log,
              bool aggregates = true) {
    Datum event_id = text_datum(ev.id);
    if (log) {
        // The locks of every object the event carries, before the event takes its seq: two
        // events of one object then get seqs in the order they change it, so stripe.rebuild()
        // (replay in seq order) decides ties of equal `created` as live ingest did. A replay
        // takes none: stripe.rebuild() holds every table exclusively, and one lock per object
        // of the whole log would exhaust the lock table (max_locks_per_transaction).
        std::vector<int32> namespaces;
        for (const auto &row : ev.rows) namespaces.push_back(shape_for(row).lock_key);
        lock_event_objects(ev, namespaces);
        Datum args[10];
        char nulls[10];
        std::memset(nulls, ' ', sizeof nulls);
        args[0] = event_id;
        args[1] = text_datum(ev.type);
        args[2] = TimestampTzGetDatum(to_timestamptz(ev.created, "created"));
        args[3] = BoolGetDatum(ev.livemode);
        if (ev.has_account) args[4] = text_datum(ev.account); else nulls[4] = 'n';
        if (ev.has_api_version) args[5] = text_datum(ev.api_version); else nulls[5] = 'n';
        if (!ev.object_type.empty()) args[6] = text_datum(ev.object_type); else nulls[6] = 'n';
        if (!ev.object_id.empty()) args[7] = text_datum(ev.object_id); else nulls[7] = 'n';
        if (endpoint) args[8] = text_datum(std::string(endpoint)); else nulls[8] = 'n';
        args[9] = text_datum(body);
        SPIPlanPtr plan = cache.insert_event;
        uint64 inserted = pg_call([&] {
            int rc = SPI_execute_plan(plan, args, nulls, false, 0);
            if (rc != SPI_OK_INSERT) elog(ERROR, "stripe.events insert failed: %s", SPI_result_code_string(rc));
            return SPI_processed;
        });
        if (inserted == 0) return Outcome::Duplicate;
    } else {
        // Replay: the event's created must still convert.
        to_timestamptz(ev.created, "created");
    }
    bool parent_applied = true;
    for (size_t i = 0; i < ev.rows.size(); i++) {
        const pgstripe::Row &row = ev.rows[i];
        // A subscription's items belong to the state they came with: only if it was applied.
        if (row.kind == ObjectKind::SubscriptionItem && !parent_applied) continue;
        bool applied = upsert_row(ev, row, event_id, aggregates);
        if (i == 0) parent_applied = applied;
    }
    return Outcome::Accepted;
}

// Reason, SQLSTATE and message for a body that fails extract_event.
struct Invalid {
    const char *reason;
    int code;
    const char *message;
};
Invalid classify(pgstripe::EventError e) {
    switch (e) {
        case pgstripe::EventError::InvalidJson: return {"invalid_json", pgs::ST_INVALID_JSON, "invalid event JSON"};
        case pgstripe::EventError::ThinEvent: return {"thin_event", pgs::ST_THIN_EVENT, "thin events are not ingested"};
        default: return {"invalid_event", pgs::ST_INVALID_EVENT, "invalid event"};
    }
}

const char *sqlstate_text(int code) {
    return pg_call([&] { return unpack_sql_state(code); });
}

Datum make_result(FunctionCallInfo fcinfo, const char *status, const std::string *event_id, const std::string *type,
                  const char *reason, int code) {
    TupleDesc desc;
    pg_call([&] {
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            elog(ERROR, "stripe.ingest must return a composite type");
        BlessTupleDesc(desc);
    });
    Datum values[5];
    bool nulls[5] = {false, event_id == nullptr, type == nullptr, reason == nullptr, code == 0};
    values[0] = text_datum(std::string(status));
    if (event_id) values[1] = text_datum(*event_id);
    if (type) values[2] = text_datum(*type);
    if (reason) values[3] = text_datum(std::string(reason));
    if (code) values[4] = text_datum(std::string(sqlstate_text(code)));
    return pg_call([&] { return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)); });
}

// The longest prefix of at most n bytes that is valid UTF-8 text without NULs (invalid bytes
// become '?'), for rejected_deliveries.body_prefix.
std::string safe_prefix(std::string_view body, size_t n) {
    std::string out;
    std::string_view b = body.substr(0, n);
    out.reserve(b.size());
    for (size_t i = 0; i < b.size();) {
        unsigned char c = static_cast<unsigned char>(b[i]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len && i + len <= b.size() && pgstripe::valid_utf8(b.substr(i, len)) && c != 0) {
            out.append(b.data() + i, len);
            i += len;
        } else {
            if (len && i + len > b.size()) break;  // cut inside a character: stop
            out += '?';
            i++;
        }
    }
    return out;
}

void spi_connect() {
    pg_call([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    });
}
void spi_finish() {
    pg_call([] { SPI_finish(); });
}

// Records a rejected delivery (SPI connected). The caller then finishes SPI and returns
// make_result(..., "rejected", ...): result tuples must not live in SPI's memory.
void record_rejection(const char *endpoint, std::string_view header, std::string_view body,
             const char *reason, int code, const std::string &message, const std::string &detail) {
    Datum args[8];
    char nulls[8];
    std::memset(nulls, ' ', sizeof nulls);
    if (endpoint) args[0] = text_datum(std::string(endpoint)); else nulls[0] = 'n';
    args[1] = text_datum(std::string(reason));
    args[2] = text_datum(std::string(sqlstate_text(code)));
    args[3] = text_datum(message);
    if (!detail.empty()) args[4] = text_datum(detail); else nulls[4] = 'n';
    args[5] = text_datum(safe_prefix(header, 1024));
    args[6] = Int32GetDatum(static_cast<int32>(std::min<size_t>(body.size(), INT32_MAX)));
    args[7] = text_datum(safe_prefix(body, static_cast<size_t>(std::max(0, pgs::rejected_body_prefix))));
    SPIPlanPtr plan = cache.insert_rejected;
    pg_call([&] {
        int rc = SPI_execute_plan(plan, args, nulls, false, 0);
        if (rc != SPI_OK_INSERT) elog(ERROR, "stripe.rejected_deliveries insert failed");
    });
}

Datum rejected(FunctionCallInfo fcinfo, const char *endpoint, std::string_view header, std::string_view body,
               const char *reason, int code, const std::string &message, const std::string &detail) {
    record_rejection(endpoint, header, body, reason, code, message, detail);
    spi_finish();
    return make_result(fcinfo, "rejected", nullptr, nullptr, reason, code);
}


thread_local pgstripe::JsonDoc doc;  // reused: its node vector keeps its capacity

}  // namespace

/*
 * stripe.ingest(payload text|bytea, sig_header text, endpoint text) RETURNS stripe.ingest_result
 * SECURITY DEFINER: reads the endpoint's secrets, which the caller cannot. Verification and
 * validation failures are returned as `rejected` and recorded; only faults raise.
 */
using pgs::pg_call;

PGS_FUNCTION(pg_stripe_ingest) {
    std::string_view body = PG_ARGISNULL(0) ? std::string_view() : pgs::arg_payload(fcinfo, 0);
    std::string_view header = PG_ARGISNULL(1) ? std::string_view() : pgs::arg_text_utf8(fcinfo, 1);
    std::string endpoint_s = PG_ARGISNULL(2) ? std::string() : std::string(pgs::arg_text_utf8(fcinfo, 2));
    const char *endpoint = PG_ARGISNULL(2) ? nullptr : endpoint_s.c_str();

    spi_connect();
    ensure_cache();
    if (body.size() > static_cast<size_t>(pgs::max_payload_bytes)) {
        return rejected(fcinfo, endpoint, header, body, "payload_too_large", pgs::ST_TOO_LARGE,
                        "webhook payload too large",
                        "The body has " + std::to_string(body.size()) + " bytes; stripe.max_payload_bytes is " +
                            std::to_string(pgs::max_payload_bytes) + ".");
    }
    // The endpoint's usable secrets (current, and the previous one during a rotation overlap).
    std::vector<std::string> secrets;
    int32 tolerance = 300;
    bool found = false;
    if (endpoint) {
        Datum arg = text_datum(endpoint_s);
        SPIPlanPtr plan = cache.endpoint_secrets;
        ArrayType *arr = nullptr;
        pg_call([&] {
            int rc = SPI_execute_plan(plan, &arg, nullptr, true, 1);
            if (rc != SPI_OK_SELECT) elog(ERROR, "endpoint lookup failed");
            if (SPI_processed == 1) {
                bool isnull;
                Datum a = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
                Datum t = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
                arr = DatumGetArrayTypeP(a);
                tolerance = DatumGetInt32(t);
            }
        });
        if (arr) {
            found = true;
            Datum *elems = nullptr;
            bool *nulls = nullptr;
            int n = 0;
            pg_call([&] { deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n); });
            for (int i = 0; i < n; i++)
                if (!nulls[i]) {
                    text *t = reinterpret_cast<text *>(pg_call([&] { return PG_DETOAST_DATUM_PACKED(elems[i]); }));
                    secrets.emplace_back(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
                }
        }
    }
    if (!found) {
        return rejected(fcinfo, endpoint, header, body, "unknown_endpoint", pgs::ST_UNKNOWN_ENDPOINT,
                        "unknown webhook endpoint", "Create it with stripe.create_endpoint(name, secret).");
    }
    std::vector<std::string_view> views(secrets.begin(), secrets.end());
    TimestampTz now = GetCurrentTransactionStartTimestamp();
    pgstripe::VerifyResult v = pgstripe::verify(body, header, views, tolerance, pgs::unix_seconds_floor(now));
    // A caller that sends the secret itself (as the header, or in the body) must not find it
    // stored in stripe.rejected_deliveries: what is recorded of such a delivery is redacted.
    std::string_view recorded_header = header, recorded_body = body;
    for (const auto &sec : secrets) {
        if (pgstripe::is_blank(sec)) continue;
        if (header.find(sec) != std::string_view::npos) recorded_header = "[redacted: contains the endpoint's secret]";
        if (body.find(sec) != std::string_view::npos) recorded_body = "[redacted: contains the endpoint's secret]";
    }
    for (auto &s : secrets) OPENSSL_cleanse(s.data(), s.size());
    if (v.verdict != pgstripe::Verdict::Ok) {
        std::string detail;
        if (v.verdict == pgstripe::Verdict::Mismatch && v.secret_has_whitespace)
            detail = "The endpoint's secret contains whitespace.";
        if (v.verdict == pgstripe::Verdict::TooOld)
            detail = "The event was signed " + std::to_string(v.age) + " seconds ago; the tolerance is " +
                     std::to_string(tolerance) + " seconds (check the clock of this server).";
        if (v.verdict == pgstripe::Verdict::Mismatch)
            detail = detail.empty() ? "Wrong secret for this endpoint, or the body was modified (re-serialized JSON?)."
                                    : detail;
        return rejected(fcinfo, endpoint, recorded_header, recorded_body, pgstripe::verdict_reason(v.verdict), pgs::sqlstate_of(v.verdict),
                        pgstripe::verdict_message(v.verdict), detail);
    }
    pgstripe::Event ev;
    std::string error;
    if (pgstripe::EventError e = pgstripe::extract_event(body, doc, &ev, &error); e != pgstripe::EventError::None) {
        Invalid why = classify(e);
        return rejected(fcinfo, endpoint, recorded_header, recorded_body, why.reason, why.code, why.message, error);
    }
    if (!times_in_range(ev, &error))
        return rejected(fcinfo, endpoint, recorded_header, recorded_body, "invalid_event", pgs::ST_INVALID_EVENT, "invalid event", error);
    Outcome o = apply(ev, body, endpoint, true);
    spi_finish();
    return make_result(fcinfo, o == Outcome::Accepted ? "accepted" : "duplicate", &ev.id, &ev.type, nullptr, 0);
}

/*
 * stripe.ingest_event(event text|jsonb) RETURNS stripe.ingest_result: trusted, unsigned.
 * Invalid events raise (ST010 invalid JSON, ST011 thin event, ST012 invalid event, ST013 too
 * large): nothing is written.
 */
PGS_FUNCTION(pg_stripe_ingest_event) {
    Oid type = get_fn_expr_argtype(fcinfo->flinfo, 0);
    std::string_view body;
    if (type == JSONBOID) {
        Jsonb *jb = pg_call([&] { return PG_GETARG_JSONB_P(0); });
        char *s = pg_call([&] { return JsonbToCString(nullptr, &jb->root, VARSIZE(jb)); });
        body = std::string_view(s, strlen(s));
        if (GetDatabaseEncoding() != PG_UTF8) {
            char *conv = pg_call([&] { return pg_server_to_any(s, static_cast<int>(body.size()), PG_UTF8); });
            body = std::string_view(conv, strlen(conv));
        }
    } else {
        body = pgs::arg_text_utf8(fcinfo, 0);
    }
    if (body.size() > static_cast<size_t>(pgs::max_payload_bytes))
        throw pgs::SqlError(pgs::ST_TOO_LARGE, "event too large",
                            "The event has " + std::to_string(body.size()) + " bytes; stripe.max_payload_bytes is " +
                                std::to_string(pgs::max_payload_bytes) + ".");
    pgstripe::Event ev;
    std::string error;
    if (pgstripe::EventError e = pgstripe::extract_event(body, doc, &ev, &error); e != pgstripe::EventError::None) {
        Invalid why = classify(e);
        throw pgs::SqlError(why.code, why.message, error);
    }
    spi_connect();
    ensure_cache();
    Outcome o = apply(ev, body, nullptr, true);
    spi_finish();
    return make_result(fcinfo, o == Outcome::Accepted ? "accepted" : "duplicate", &ev.id, &ev.type, nullptr, 0);
}

/*
 * stripe._apply_event(body json, aggregates boolean): replays a logged event into the object
 * tables; with aggregates = false the aggregates are left alone (stripe.rebuild()).
 */
PGS_FUNCTION(pg_stripe_apply_event) {
    std::string_view body = pgs::arg_text_utf8(fcinfo, 0);
    bool aggregates = PG_GETARG_BOOL(1);
    pgstripe::Event ev;
    std::string error;
    if (pgstripe::extract_event(body, doc, &ev, &error) != pgstripe::EventError::None)
        throw pgs::SqlError(pgs::ST_INVALID_EVENT, "logged event can no longer be applied", error);
    spi_connect();
    ensure_cache();
    apply(ev, body, nullptr, false, aggregates);
    spi_finish();
    PG_RETURN_BOOL(true);
}
