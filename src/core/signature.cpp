#include "signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

namespace pgstripe {

namespace {

// OpenSSL 3 fetches the algorithm from its provider on every one-shot HMAC() call, which costs
// more than hashing a 2 KB body. We fetch SHA-256 once per process and build HMAC from two
// digests (RFC 2104), reusing one digest context: no allocation and no fetch per call.
struct Sha256 {
    EVP_MD *md = nullptr;
    EVP_MD_CTX *ctx = nullptr;
    Sha256() {
        md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        ctx = EVP_MD_CTX_new();
    }
    ~Sha256() {
        EVP_MD_CTX_free(ctx);
        EVP_MD_free(md);
    }
};

Sha256 &sha256() {
    // One per thread: Postgres backends are single-threaded, tests and fuzzers may not be.
    thread_local Sha256 s;
    if (!s.md || !s.ctx) throw std::runtime_error("OpenSSL: SHA256 is unavailable");
    return s;
}

void digest(Sha256 &s, const std::string_view *parts, size_t n, unsigned char out[32]) {
    if (EVP_DigestInit_ex(s.ctx, s.md, nullptr) != 1) throw std::runtime_error("OpenSSL: digest init failed");
    for (size_t i = 0; i < n; i++)
        if (!parts[i].empty() && EVP_DigestUpdate(s.ctx, parts[i].data(), parts[i].size()) != 1)
            throw std::runtime_error("OpenSSL: digest update failed");
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(s.ctx, out, &len) != 1 || len != 32) throw std::runtime_error("OpenSSL: digest final failed");
}

inline bool is_ascii_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Decimal rendering of an int64 into buf (no locale, no allocation); returns the length.
size_t format_int64(int64_t v, char buf[24]) {
    char tmp[24];
    size_t n = 0;
    // Work in unsigned so INT64_MIN does not overflow on negation.
    uint64_t u = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
    do {
        tmp[n++] = char('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) buf[len++] = '-';
    while (n) buf[len++] = tmp[--n];
    return len;
}

}  // namespace

void hmac_sha256(std::string_view key, const std::string_view *parts, size_t nparts,
                 unsigned char out[32]) {
    Sha256 &s = sha256();
    unsigned char k[64] = {0};
    if (key.size() > 64) {
        digest(s, &key, 1, k);
    } else if (!key.empty()) {
        std::memcpy(k, key.data(), key.size());
    }
    unsigned char ipad[64], opad[64];
    for (int i = 0; i < 64; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    unsigned char inner[32];
    // Inner hash over ipad || parts; at most a handful of parts.
    if (EVP_DigestInit_ex(s.ctx, s.md, nullptr) != 1 || EVP_DigestUpdate(s.ctx, ipad, 64) != 1)
        throw std::runtime_error("OpenSSL: digest init failed");
    for (size_t i = 0; i < nparts; i++)
        if (!parts[i].empty() && EVP_DigestUpdate(s.ctx, parts[i].data(), parts[i].size()) != 1)
            throw std::runtime_error("OpenSSL: digest update failed");
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(s.ctx, inner, &len) != 1) throw std::runtime_error("OpenSSL: digest final failed");
    std::string_view outer[2] = {std::string_view(reinterpret_cast<char *>(opad), 64),
                                 std::string_view(reinterpret_cast<char *>(inner), 32)};
    digest(s, outer, 2, out);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
}

void sign_hex(std::string_view secret, int64_t t, std::string_view payload, char out[64]) {
    char tbuf[24];
    size_t tlen = format_int64(t, tbuf);
    std::string_view parts[3] = {std::string_view(tbuf, tlen), ".", payload};
    unsigned char mac[32];
    hmac_sha256(secret, parts, 3, mac);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
}

std::string sign_hex(std::string_view secret, int64_t t, std::string_view payload) {
    char out[64];
    sign_hex(secret, t, payload, out);
    return std::string(out, 64);
}

bool parse_int64(std::string_view s, int64_t *out) {
    size_t i = 0;
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (i == s.size()) return false;
    // Accumulate as a negative number: its range includes INT64_MIN.
    int64_t acc = 0;
    const int64_t min = std::numeric_limits<int64_t>::min();
    for (; i < s.size(); i++) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < '0' || c > '9') return false;
        int d = c - '0';
        if (acc < (min + d) / 10) return false;  // acc*10 - d would underflow
        acc = acc * 10 - d;
    }
    if (!neg) {
        if (acc == min) return false;
        acc = -acc;
    }
    *out = acc;
    return true;
}

bool is_blank(std::string_view s) {
    for (unsigned char c : s)
        if (!is_ascii_space(c)) return false;
    return true;
}

bool has_whitespace(std::string_view s) {
    for (unsigned char c : s)
        if (is_ascii_space(c)) return true;
    return false;
}

SignatureHeader parse_signature_header(std::string_view header) {
    SignatureHeader h;
    size_t pos = 0;
    while (pos <= header.size()) {
        size_t comma = header.find(',', pos);
        if (comma == std::string_view::npos) comma = header.size();
        std::string_view part = header.substr(pos, comma - pos);
        size_t eq = part.find('=');
        if (eq != std::string_view::npos) {
            std::string_view key = part.substr(0, eq), value = part.substr(eq + 1);
            if (key == "t") {
                h.has_timestamp = true;
                h.timestamp_ok = parse_int64(value, &h.timestamp);
            } else if (key == "v1") {
                h.v1.push_back(value);
            }
        }
        pos = comma + 1;
    }
    return h;
}

VerifyResult verify(std::string_view payload, std::string_view header,
                    const std::vector<std::string_view> &secrets, int64_t tolerance, int64_t now) {
    VerifyResult r;
    for (auto s : secrets)
        if (has_whitespace(s)) r.secret_has_whitespace = true;
    auto fail = [&r](Verdict v) {
        r.verdict = v;
        return r;
    };
    if (payload.empty()) return fail(Verdict::NoPayload);
    if (header.empty()) return fail(Verdict::NoHeader);
    SignatureHeader h = parse_signature_header(header);
    if (!h.has_timestamp || !h.timestamp_ok) return fail(Verdict::BadHeader);
    r.timestamp = h.timestamp;
    if (h.v1.empty()) return fail(Verdict::NoSignatures);
    bool any_secret = false;
    for (auto s : secrets)
        if (!is_blank(s)) any_secret = true;
    if (!any_secret) return fail(Verdict::NoSecret);

    bool matched = false;
    for (auto s : secrets) {
        if (is_blank(s)) continue;
        char expected[64];
        sign_hex(s, h.timestamp, payload, expected);
        for (auto cand : h.v1) {
            // Length is public (always 64 for a real signature); the content is compared in
            // constant time. Uppercase or non-hex candidates simply differ.
            if (cand.size() == 64 && CRYPTO_memcmp(cand.data(), expected, 64) == 0) matched = true;
        }
        OPENSSL_cleanse(expected, sizeof expected);
    }
    if (!matched) return fail(Verdict::Mismatch);

    // age = now - t without overflow: saturate in 128-bit arithmetic.
    __int128 age = static_cast<__int128>(now) - static_cast<__int128>(h.timestamp);
    const __int128 max = std::numeric_limits<int64_t>::max(), min = std::numeric_limits<int64_t>::min();
    r.age = static_cast<int64_t>(age > max ? max : age < min ? min : age);
    if (tolerance > 0 && age > tolerance) return fail(Verdict::TooOld);
    return r;
}

const char *verdict_message(Verdict v) {
    switch (v) {
        case Verdict::Ok: return "ok";
        case Verdict::NoPayload: return "No webhook payload was provided.";
        case Verdict::NoHeader: return "No stripe-signature header value was provided.";
        case Verdict::BadHeader: return "Unable to extract timestamp and signatures from header";
        case Verdict::NoSignatures: return "No signatures found with expected scheme";
        case Verdict::NoSecret: return "No webhook secret value was provided. It should start with `whsec_`";
        case Verdict::Mismatch:
            return "No signatures found matching the expected signature for payload. Are you passing the raw "
                   "request body you received from Stripe?";
        case Verdict::TooOld: return "Timestamp outside the tolerance zone";
    }
    return "unknown verdict";
}

const char *verdict_reason(Verdict v) {
    switch (v) {
        case Verdict::Ok: return "ok";
        case Verdict::NoPayload: return "no_payload";
        case Verdict::NoHeader: return "no_signature_header";
        case Verdict::BadHeader: return "unparsable_signature_header";
        case Verdict::NoSignatures: return "no_v1_signature";
        case Verdict::NoSecret: return "no_secret";
        case Verdict::Mismatch: return "signature_mismatch";
        case Verdict::TooOld: return "timestamp_outside_tolerance";
    }
    return "unknown";
}

}  // namespace pgstripe
