// stripe.verify_signature and stripe.construct_event (SPEC.md §1): argument conversion and
// error reporting around the pure core in src/core/signature.cpp.
#include "../core/json.hpp"
#include "../core/signature.hpp"
#include "errors.hpp"
#include "pg_util.hpp"

extern "C" {
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

namespace {

// Decimal text of a 128-bit integer: the age of an event whose t is near INT64_MIN does not fit
// int64 (VerifyResult::age saturates), and the DETAIL must state the real age.
std::string int128_to_string(__int128 v) {
    bool neg = v < 0;
    unsigned __int128 u = neg ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
    std::string s;
    do {
        s.insert(s.begin(), char('0' + int(u % 10)));
        u /= 10;
    } while (u);
    if (neg) s.insert(s.begin(), '-');
    return s;
}

pgstripe::VerifyResult run_verify(FunctionCallInfo fcinfo, std::string_view *payload_out) {
    // bytea payloads are signed as they are; text arguments as UTF-8, secret array elements too.
    bool bytea_payload = get_fn_expr_argtype(fcinfo->flinfo, 0) == BYTEAOID;
    std::string_view payload = bytea_payload ? pgs::arg_bytes(fcinfo, 0) : pgs::arg_text_utf8(fcinfo, 0);
    std::string_view header = pgs::arg_text_utf8(fcinfo, 1);
    std::vector<std::string_view> secrets = pgs::arg_secrets(fcinfo, 2);  // text or text[]; NULLs skipped
    int32 tolerance = PG_GETARG_INT32(3);
    TimestampTz at = PG_GETARG_TIMESTAMPTZ(4);
    if (payload_out) *payload_out = payload;
    return pgstripe::verify(payload, header, secrets, tolerance, pgs::unix_seconds_floor(at));
}

}  // namespace

/*
 * stripe.verify_signature(payload text|bytea, sig_header text, secret text|text[],
 *                         tolerance int, at timestamptz) RETURNS boolean
 * STRICT: NULL in, NULL out. Never raises on bad input: every failure is false.
 */
PGS_FUNCTION(pg_stripe_verify_signature) {
    return BoolGetDatum(run_verify(fcinfo, nullptr).verdict == pgstripe::Verdict::Ok);
}

/*
 * stripe.construct_event(...) RETURNS jsonb: verifies like verify_signature, then parses the body
 * as a JSON event object. Raises at the first failure with the class's SQLSTATE (errors.hpp).
 */
PGS_FUNCTION(pg_stripe_construct_event) {
    using pgstripe::Verdict;
    std::string_view payload;
    pgstripe::VerifyResult r = run_verify(fcinfo, &payload);
    if (r.verdict != Verdict::Ok) {
        std::string detail;
        if (r.verdict == Verdict::Mismatch && r.secret_has_whitespace)
            detail = "The webhook secret contains whitespace; check for a stray space or newline around it.";
        if (r.verdict == Verdict::TooOld) {
            __int128 age = static_cast<__int128>(pgs::unix_seconds_floor(PG_GETARG_TIMESTAMPTZ(4))) - r.timestamp;
            int32 tolerance = PG_GETARG_INT32(3);
            detail = "The event was signed " + int128_to_string(age) + " seconds ago; the tolerance is " +
                     std::to_string(tolerance) + (tolerance == 1 ? " second." : " seconds.");
        }
        throw pgs::SqlError(pgs::sqlstate_of(r.verdict), pgstripe::verdict_message(r.verdict), detail);
    }

    pgstripe::JsonDoc doc;
    if (!doc.parse(payload))
        throw pgs::SqlError(pgs::ST_INVALID_JSON, "invalid event JSON", doc.error());
    if (doc.node(doc.root()).kind != pgstripe::JsonKind::Object)
        throw pgs::SqlError(pgs::ST_INVALID_JSON, "invalid event JSON", "The payload is not a JSON object.");
    uint32_t obj = doc.member(doc.root(), "object");
    if (obj && doc.node(obj).kind == pgstripe::JsonKind::String && doc.string_value(obj) == "v2.core.event")
        throw pgs::SqlError(pgs::ST_THIN_EVENT,
                            "thin events (object v2.core.event) cannot be read with construct_event",
                            "This payload is a thin event notification; fetch the event it names from the "
                            "Stripe API instead.");

    // The body is valid UTF-8 JSON that jsonb accepts; convert to the server encoding if needed.
    const char *data = payload.data();
    int len = static_cast<int>(payload.size());
    // jsonb can still refuse valid JSON: a number beyond numeric's range (1e1000000), or, in a
    // non-UTF8 database, a character the server encoding lacks. Such a body is no event either:
    // report it in the invalid-JSON class with jsonb's message as the detail, not as a bare 22xxx.
    Datum result;
    try {
        result = pgs::pg_call([&] {
            char *cstr = pnstrdup(data, len);
            char *server = pg_any_to_server(cstr, len, PG_UTF8);
            return DirectFunctionCall1(jsonb_in, CStringGetDatum(server));
        });
    } catch (const pgs::PgException &e) {
        if (ERRCODE_TO_CATEGORY(e.edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION) throw;
        std::string why = e.edata->message ? e.edata->message : "jsonb refused the body";
        throw pgs::SqlError(pgs::ST_INVALID_JSON, "invalid event JSON", why);
    }
    PG_RETURN_DATUM(result);
}
