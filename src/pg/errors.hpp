// SQLSTATEs of pg_stripe. Class "ST" (implementation-defined; letters I-Z are free for
// extensions). One code per failure class, documented in README.md; the JSON classes never
// share a code with a signature class.
#pragma once
extern "C" {
#include "postgres.h"
#include "utils/elog.h"
}
#include "../core/signature.hpp"

namespace pgs {

constexpr int ST_NO_PAYLOAD = MAKE_SQLSTATE('S', 'T', '0', '0', '1');
constexpr int ST_NO_HEADER = MAKE_SQLSTATE('S', 'T', '0', '0', '2');
constexpr int ST_BAD_HEADER = MAKE_SQLSTATE('S', 'T', '0', '0', '3');
constexpr int ST_NO_SIGNATURES = MAKE_SQLSTATE('S', 'T', '0', '0', '4');
constexpr int ST_NO_SECRET = MAKE_SQLSTATE('S', 'T', '0', '0', '5');
constexpr int ST_MISMATCH = MAKE_SQLSTATE('S', 'T', '0', '0', '6');
constexpr int ST_TOO_OLD = MAKE_SQLSTATE('S', 'T', '0', '0', '7');
constexpr int ST_INVALID_JSON = MAKE_SQLSTATE('S', 'T', '0', '1', '0');
constexpr int ST_THIN_EVENT = MAKE_SQLSTATE('S', 'T', '0', '1', '1');
constexpr int ST_INVALID_EVENT = MAKE_SQLSTATE('S', 'T', '0', '1', '2');
constexpr int ST_TOO_LARGE = MAKE_SQLSTATE('S', 'T', '0', '1', '3');
constexpr int ST_UNKNOWN_ENDPOINT = MAKE_SQLSTATE('S', 'T', '0', '2', '0');

inline int sqlstate_of(pgstripe::Verdict v) {
    using pgstripe::Verdict;
    switch (v) {
        case Verdict::NoPayload: return ST_NO_PAYLOAD;
        case Verdict::NoHeader: return ST_NO_HEADER;
        case Verdict::BadHeader: return ST_BAD_HEADER;
        case Verdict::NoSignatures: return ST_NO_SIGNATURES;
        case Verdict::NoSecret: return ST_NO_SECRET;
        case Verdict::Mismatch: return ST_MISMATCH;
        case Verdict::TooOld: return ST_TOO_OLD;
        case Verdict::Ok: break;
    }
    return ERRCODE_INTERNAL_ERROR;
}

}  // namespace pgs
