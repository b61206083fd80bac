// libFuzzer target: Stripe-Signature header parsing and the verify decision
// (src/core/signature.cpp).
//
// Input layout: the header, then optionally '\n' and the payload (without '\n' the payload is a
// fixed event body). Invariants (any violation aborts, which libFuzzer reports as a crash):
//  1. parse_signature_header and verify never throw, on any bytes.
//  2. The parse equals an independent reference reading of SPEC's rules (ref_parse below); every
//     v1 value lies inside the header; a parsed t re-prints and re-parses to itself.
//  3. verify answers Ok only if some v1 equals sign_hex(secret, t, payload) and the age is within
//     the tolerance; TooOld only with age > tolerance > 0; the verdict follows SPEC's check order.
//  4. A header built by sign_hex for the payload verifies (also with the fuzzed header before it,
//     since the last t wins; and after it when the fuzzed part has no t), and sign_hex agrees with
//     OpenSSL's one-shot HMAC().
//  5. Blank secrets in an array change nothing.
#include "signature.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace {

using pgstripe::Verdict;

const std::string kSecret = "whsec_fuzz_0123456789abcdef";
const std::string kDefaultPayload =
    R"({"id":"evt_1","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}})";
constexpr int64_t kNow = 1700000000;

[[noreturn]] void fail(const char *what, std::string_view header, std::string_view payload) {
    std::fprintf(stderr, "header_fuzz invariant violated: %s\nheader: %.*s\npayload (%zu bytes)\n", what,
                 static_cast<int>(header.size() > 2000 ? 2000 : header.size()), header.data(), payload.size());
    std::abort();
}

std::string openssl_hex(std::string_view key, std::string_view msg) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char *>(msg.data()),
         msg.size(), out, &len);
    static const char hex[] = "0123456789abcdef";
    std::string s;
    for (unsigned i = 0; i < len; i++) {
        s += hex[out[i] >> 4];
        s += hex[out[i] & 15];
    }
    return s;
}

// An independent reading of SPEC §1's header rules, written differently from the core's parser
// (std::from_chars for the integer), to compare against.
struct RefHeader {
    bool has_t = false, t_ok = false;
    int64_t t = 0;
    std::vector<std::string> v1;
};

RefHeader ref_parse(std::string_view header) {
    RefHeader r;
    std::string part;
    auto take = [&r](const std::string &p) {
        size_t eq = p.find('=');
        if (eq == std::string::npos) return;  // a part without '=' is ignored
        std::string key = p.substr(0, eq), value = p.substr(eq + 1);
        if (key == "t") {
            r.has_t = true;
            std::string digits = value;
            if (!digits.empty() && digits[0] == '+') digits.erase(0, 1);
            size_t start = !digits.empty() && digits[0] == '-' ? 1 : 0;
            bool all_digits = digits.size() > start;
            for (size_t i = start; i < digits.size(); i++) all_digits &= digits[i] >= '0' && digits[i] <= '9';
            int64_t v = 0;
            auto res = std::from_chars(digits.data(), digits.data() + digits.size(), v);
            r.t_ok = all_digits && value.size() > 0 && !(value[0] == '+' && start) && res.ec == std::errc() &&
                     res.ptr == digits.data() + digits.size();
            if (r.t_ok) r.t = v;
        } else if (key == "v1") {
            r.v1.push_back(value);
        }
    };
    for (char c : header) {
        if (c == ',') {
            take(part);
            part.clear();
        } else {
            part += c;
        }
    }
    take(part);
    return r;
}

void check(std::string_view header, std::string_view payload) {
    // 2. parsing, against the reference reading
    pgstripe::SignatureHeader h = pgstripe::parse_signature_header(header);
    RefHeader ref = ref_parse(header);
    if (h.has_timestamp != ref.has_t || h.timestamp_ok != ref.t_ok || (ref.t_ok && h.timestamp != ref.t))
        fail("t differs from the reference parser", header, payload);
    if (h.v1.size() != ref.v1.size()) fail("v1 count differs from the reference parser", header, payload);
    for (size_t i = 0; i < h.v1.size(); i++)
        if (h.v1[i] != ref.v1[i]) fail("v1 value differs from the reference parser", header, payload);
    for (auto v : h.v1)
        if (v.data() < header.data() || v.data() + v.size() > header.data() + header.size())
            fail("v1 view outside the header", header, payload);
    if (h.timestamp_ok) {
        int64_t back = 0;
        if (!pgstripe::parse_int64(std::to_string(h.timestamp), &back) || back != h.timestamp)
            fail("t does not round-trip", header, payload);
    }

    // 3. the decision under a few tolerances and clocks, including the extremes
    const int64_t tolerances[] = {300, 0, -1, 1, std::numeric_limits<int64_t>::max()};
    const int64_t nows[] = {kNow, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
    for (int64_t tol : tolerances)
        for (int64_t now : nows) {
            pgstripe::VerifyResult r = pgstripe::verify(payload, header, {kSecret}, tol, now);
            Verdict want;
            if (payload.empty()) want = Verdict::NoPayload;
            else if (header.empty()) want = Verdict::NoHeader;
            else if (!h.has_timestamp || !h.timestamp_ok) want = Verdict::BadHeader;
            else if (h.v1.empty()) want = Verdict::NoSignatures;
            else {
                std::string expected = pgstripe::sign_hex(kSecret, h.timestamp, payload);
                bool match = false;
                for (auto v : h.v1) match |= v == expected;
                __int128 age = static_cast<__int128>(now) - h.timestamp;
                want = !match ? Verdict::Mismatch : (tol > 0 && age > tol) ? Verdict::TooOld : Verdict::Ok;
            }
            if (r.verdict != want) fail("verdict differs from the SPEC model", header, payload);
            // 5. blank secrets are ignored
            pgstripe::VerifyResult r2 = pgstripe::verify(payload, header, {"", " \t", kSecret, "\n"}, tol, now);
            if (r2.verdict != r.verdict) fail("blank secrets changed the verdict", header, payload);
            if (!r2.secret_has_whitespace || r.secret_has_whitespace) fail("whitespace flag wrong", header, payload);
        }

    if (payload.empty()) return;
    // 4. a header signed for this payload verifies, whatever fuzzed parts come before it
    int64_t t = h.timestamp_ok ? h.timestamp : static_cast<int64_t>(header.size()) * 7919 - 100000;
    std::string sig = pgstripe::sign_hex(kSecret, t, payload);
    if (sig != openssl_hex(kSecret, std::to_string(t) + "." + std::string(payload)))
        fail("sign_hex differs from OpenSSL HMAC()", header, payload);
    std::string good = "t=" + std::to_string(t) + ",v1=" + sig;
    if (pgstripe::verify(payload, good, {kSecret}, 0, kNow).verdict != Verdict::Ok)
        fail("a freshly signed header does not verify", header, payload);
    std::string before = std::string(header) + "," + good;
    if (pgstripe::verify(payload, before, {"whsec_other", kSecret}, 0, kNow).verdict != Verdict::Ok)
        fail("fuzzed parts before a good header broke it", header, payload);
    if (!h.has_timestamp) {
        std::string after = good + "," + std::string(header);
        if (pgstripe::verify(payload, after, {kSecret}, 0, kNow).verdict != Verdict::Ok)
            fail("fuzzed parts without t after a good header broke it", header, payload);
    }
    // The same signature under another secret never verifies.
    if (pgstripe::verify(payload, good, {kSecret + "x"}, 0, kNow).verdict != Verdict::Mismatch)
        fail("a different secret verified", header, payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view in(reinterpret_cast<const char *>(data), size);
    size_t nl = in.find('\n');
    std::string_view header = in.substr(0, nl);
    std::string_view payload = nl == std::string_view::npos ? std::string_view(kDefaultPayload) : in.substr(nl + 1);
    try {
        check(header, payload);
    } catch (const std::exception &e) {
        fail(e.what(), header, payload);  // 1. nothing throws
    } catch (...) {
        fail("unknown exception", header, payload);
    }
    return 0;
}
