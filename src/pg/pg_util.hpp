// Small helpers of the Postgres layer: argument access as string_views, without copies.
#pragma once
#include "guard.hpp"

#include <string_view>
#include <vector>

extern "C" {
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "mb/pg_wchar.h"
}

namespace pgs {

// A detoasted varlena argument as a view (text or bytea). The memory belongs to the function's
// call context and outlives the view's use.
inline std::string_view arg_bytes(FunctionCallInfo fcinfo, int n) {
    struct varlena *v = pg_call([&] { return PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(n)); });
    return std::string_view(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
}

// Text as the UTF-8 bytes Stripe signs. A LATIN1 (or other) database converts; a UTF8 database
// needs nothing. A SQL_ASCII database declares no encoding: its text is taken byte for byte, like
// bytea (pg_server_to_any would only validate it as UTF-8 and raise on the first stray byte, and
// verify_signature must not raise on bad input).
inline std::string_view as_utf8(std::string_view s) {
    int enc = GetDatabaseEncoding();
    if (enc == PG_UTF8 || enc == PG_SQL_ASCII || s.empty()) return s;
    const char *src = s.data();
    int len = static_cast<int>(s.size());
    char *conv = pg_call([&] { return pg_server_to_any(src, len, PG_UTF8); });
    if (conv == src) return s;
    return std::string_view(conv, strlen(conv));
}

// A text argument as UTF-8 bytes.
inline std::string_view arg_text_utf8(FunctionCallInfo fcinfo, int n) { return as_utf8(arg_bytes(fcinfo, n)); }

// The payload argument: text (signed as UTF-8) or bytea (signed as the exact bytes).
inline std::string_view arg_payload(FunctionCallInfo fcinfo, int n) {
    Oid type = get_fn_expr_argtype(fcinfo->flinfo, n);
    return type == BYTEAOID ? arg_bytes(fcinfo, n) : arg_text_utf8(fcinfo, n);
}

// The secret argument: text or text[]; NULL array elements are skipped.
inline std::vector<std::string_view> arg_secrets(FunctionCallInfo fcinfo, int n) {
    std::vector<std::string_view> out;
    Oid type = get_fn_expr_argtype(fcinfo->flinfo, n);
    if (type != TEXTARRAYOID) {
        out.push_back(arg_text_utf8(fcinfo, n));
        return out;
    }
    ArrayType *arr = pg_call([&] { return PG_GETARG_ARRAYTYPE_P(n); });
    Datum *elems = nullptr;
    bool *nulls = nullptr;
    int count = 0;
    pg_call([&] { deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count); });
    for (int i = 0; i < count; i++) {
        if (nulls[i]) continue;
        struct varlena *v = pg_call([&] { return PG_DETOAST_DATUM_PACKED(elems[i]); });
        out.push_back(as_utf8(std::string_view(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v))));
    }
    return out;
}

// floor(at) in unix seconds, for a timestamptz (microseconds since 2000-01-01).
inline int64_t unix_seconds_floor(TimestampTz at) {
    constexpr int64_t kEpochShift = 946684800;  // seconds from 1970-01-01 to 2000-01-01
    int64_t s = at / 1000000;
    if (at % 1000000 < 0) s--;
    // Saturate instead of overflowing near +-infinity.
    if (s > INT64_MAX - kEpochShift) return INT64_MAX;
    return s + kEpochShift;
}

}  // namespace pgs
