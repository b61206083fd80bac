// Stripe webhook signature verification: the pure C++ core.
//
// No postgres.h here (see cpp_only.hpp): this file is unit-tested, fuzzed and benchmarked on
// its own. The rules are SPEC.md §1; stripe-node's constructEvent is the reference, with the
// stricter reading wherever SPEC.md says so.
#pragma once
#include "cpp_only.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgstripe {

// Outcome classes, in the order construct_event checks them. Each maps to one SQLSTATE in the
// Postgres layer (see src/pg/errors.hpp) and to one reason string in stripe.ingest.
enum class Verdict {
    Ok,
    NoPayload,      // empty body
    NoHeader,       // empty Stripe-Signature header
    BadHeader,      // no parsable t=
    NoSignatures,   // no v1= part
    NoSecret,       // no usable secret
    Mismatch,       // no secret matches any v1
    TooOld,         // signature fine, timestamp older than the tolerance
};

// The parsed Stripe-Signature header. Views point into the caller's header string.
struct SignatureHeader {
    bool has_timestamp = false;
    bool timestamp_ok = false;  // the last t= was a valid signed 64-bit decimal
    int64_t timestamp = 0;
    std::vector<std::string_view> v1;
};

// Splits on ',', each part on its first '='; exact keys; the last t wins; every v1 kept.
SignatureHeader parse_signature_header(std::string_view header);

// Parses an optionally signed decimal integer that fits int64 ("+0123" -> 123).
bool parse_int64(std::string_view s, int64_t *out);

// True if every byte is ASCII whitespace (space, \t, \n, \v, \f, \r); true for "".
bool is_blank(std::string_view s);
bool has_whitespace(std::string_view s);

struct VerifyResult {
    Verdict verdict = Verdict::Ok;
    int64_t timestamp = 0;        // t of the header when parsed
    int64_t age = 0;              // now - t (saturated), for the TooOld detail
    bool secret_has_whitespace = false;  // any given secret contains ASCII whitespace
};

// The whole decision. `secrets` may contain blank entries: they are ignored, as SPEC says for
// NULL/blank array elements. `now` is floor(at) in unix seconds. tolerance <= 0 disables the age
// check. Signature first, then timestamp.
VerifyResult verify(std::string_view payload, std::string_view header,
                    const std::vector<std::string_view> &secrets, int64_t tolerance, int64_t now);

// stripe-node's message for a verdict (SPEC §1).
const char *verdict_message(Verdict v);
// A short stable reason code, for stripe.ingest's `rejected` rows ("signature_mismatch", ...).
const char *verdict_reason(Verdict v);

// HMAC-SHA256 of "<t>.<payload>" under `secret`, as 64 lowercase hex chars in `out`.
// Exposed for tests and benchmarks.
void sign_hex(std::string_view secret, int64_t t, std::string_view payload, char out[64]);
std::string sign_hex(std::string_view secret, int64_t t, std::string_view payload);

// Plain HMAC-SHA256 (32 raw bytes) on the same fast path, for the fixed RFC 4231 vectors.
void hmac_sha256(std::string_view key, const std::string_view *parts, size_t nparts,
                 unsigned char out[32]);

}  // namespace pgstripe
