// Unit tests of the signature core (src/core/signature.cpp) against SPEC.md §1.
//
// Independent oracles: the RFC 4231 vectors (fixed bytes) and OpenSSL's one-shot HMAC(), which
// does not share the cached-digest code path of pgstripe::hmac_sha256.
#include "signature.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace {

using pgstripe::Verdict;
using namespace std::string_literals;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::string to_hex(const unsigned char *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; i++) {
        s += hex[p[i] >> 4];
        s += hex[p[i] & 15];
    }
    return s;
}

std::string from_hex(std::string_view h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2) out += char(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
    return out;
}

// OpenSSL's one-shot HMAC(): the oracle.
std::string openssl_hmac_hex(std::string_view key, std::string_view msg) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    unsigned char *r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                            reinterpret_cast<const unsigned char *>(msg.data()), msg.size(), out, &len);
    EXPECT_NE(r, nullptr);
    EXPECT_EQ(len, 32u);
    return to_hex(out, len);
}

std::string core_hmac_hex(std::string_view key, std::vector<std::string_view> parts) {
    unsigned char out[32];
    pgstripe::hmac_sha256(key, parts.data(), parts.size(), out);
    return to_hex(out, 32);
}

// A deterministic byte string of length n (xorshift), with every byte value possible.
std::string bytes(size_t n, uint32_t seed) {
    std::string s(n, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (auto &c : s) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = char(x & 0xff);
    }
    return s;
}

const std::string kSecret = "whsec_test_secret_0123456789";
const std::string kPayload = R"({"id":"evt_1","object":"event","type":"charge.succeeded"})";
constexpr int64_t kT = 1700000000;

std::string header_for(int64_t t, std::string_view secret = kSecret, std::string_view payload = kPayload) {
    return "t=" + std::to_string(t) + ",v1=" + pgstripe::sign_hex(secret, t, payload);
}

pgstripe::VerifyResult run(std::string_view payload, std::string_view header, std::vector<std::string_view> secrets,
                           int64_t tolerance = 300, int64_t now = kT) {
    return pgstripe::verify(payload, header, secrets, tolerance, now);
}

// ---------------------------------------------------------------------------------------------
// HMAC-SHA256

struct Rfc4231 {
    const char *name;
    std::string key, data;
    const char *mac;  // hex; TC5 is truncated to 128 bits
};

TEST(Hmac, Rfc4231Vectors) {
    const std::vector<Rfc4231> cases = {
        {"TC1", std::string(20, '\x0b'), "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"TC2", "Jefe", "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"TC3", std::string(20, '\xaa'), std::string(50, '\xdd'),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"TC4", from_hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {"TC5", std::string(20, '\x0c'), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
        {"TC6", std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {"TC7", std::string(131, '\xaa'),
         "This is a test using a larger than block-size key and a larger than block-size data. The key needs to "
         "be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.name);
        std::string got = core_hmac_hex(c.key, {c.data});
        std::string want = c.mac;
        EXPECT_EQ(got.substr(0, want.size()), want);
        // The oracle agrees on the vectors too (guards the test itself).
        EXPECT_EQ(openssl_hmac_hex(c.key, c.data).substr(0, want.size()), want);
    }
}

TEST(Hmac, MatchesOpenSslForKeyLengthsAroundTheBlockSize) {
    // 64 is SHA-256's block size: shorter keys are padded, longer ones hashed first.
    for (size_t klen : {0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 131, 200, 1000}) {
        for (size_t mlen : {0, 1, 55, 56, 63, 64, 65, 1000, 4096}) {
            SCOPED_TRACE("key " + std::to_string(klen) + " msg " + std::to_string(mlen));
            std::string key = bytes(klen, uint32_t(klen + 1)), msg = bytes(mlen, uint32_t(mlen + 7));
            EXPECT_EQ(core_hmac_hex(key, {msg}), openssl_hmac_hex(key, msg));
        }
    }
}

TEST(Hmac, PartsAreConcatenated) {
    std::string key = "k", msg = bytes(300, 3);
    std::string whole = openssl_hmac_hex(key, msg);
    std::string_view m(msg);
    EXPECT_EQ(core_hmac_hex(key, {m.substr(0, 1), m.substr(1, 99), m.substr(100)}), whole);
    EXPECT_EQ(core_hmac_hex(key, {"", m, ""}), whole);
    EXPECT_EQ(core_hmac_hex(key, {}), openssl_hmac_hex(key, ""));
}

TEST(Hmac, RepeatedCallsAreIndependent) {
    // The digest context is reused: a call must not leak state into the next.
    std::string a = core_hmac_hex("key-a", {"message one"});
    std::string b = core_hmac_hex(std::string(100, 'b'), {"message two"});
    EXPECT_EQ(core_hmac_hex("key-a", {"message one"}), a);
    EXPECT_EQ(a, openssl_hmac_hex("key-a", "message one"));
    EXPECT_EQ(b, openssl_hmac_hex(std::string(100, 'b'), "message two"));
}

TEST(SignHex, MatchesOpenSslOverTDotPayload) {
    const std::vector<std::string> payloads = {kPayload, "", "x", "a\0b"s, "\xff\xfe not utf-8", "\xef\xbb\xbf{}",
                                               bytes(5000, 11)};
    const std::vector<int64_t> times = {0, 1, -1, kT, kMin, kMax, 1234567890123LL};
    const std::vector<std::string> secrets = {kSecret, "", " ", std::string(200, 's'), "se\0cret"s};
    for (const auto &p : payloads)
        for (int64_t t : times)
            for (const auto &s : secrets) {
                std::string want = openssl_hmac_hex(s, std::to_string(t) + "." + p);
                EXPECT_EQ(pgstripe::sign_hex(s, t, p), want) << "t=" << t;
                char buf[64];
                pgstripe::sign_hex(s, t, p, buf);
                EXPECT_EQ(std::string(buf, 64), want);
            }
}

TEST(SignHex, IsLowercaseHexOf64Chars) {
    std::string h = pgstripe::sign_hex(kSecret, kT, kPayload);
    ASSERT_EQ(h.size(), 64u);
    for (char c : h) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << c;
}

// ---------------------------------------------------------------------------------------------
// parse_int64

TEST(ParseInt64, Accepts) {
    struct {
        const char *in;
        int64_t want;
    } ok[] = {
        {"0", 0},
        {"+0", 0},
        {"-0", 0},
        {"123", 123},
        {"+123", 123},
        {"0123", 123},
        {"+0123", 123},
        {"-0123", -123},
        {"000000000000000000000000000001", 1},
        {"9223372036854775807", kMax},
        {"+9223372036854775807", kMax},
        {"-9223372036854775808", kMin},
        {"-9223372036854775807", kMin + 1},
        {"00009223372036854775807", kMax},
        {"1700000000", 1700000000},
    };
    for (auto &c : ok) {
        int64_t v = 42;
        EXPECT_TRUE(pgstripe::parse_int64(c.in, &v)) << c.in;
        EXPECT_EQ(v, c.want) << c.in;
    }
}

TEST(ParseInt64, Rejects) {
    const char *bad[] = {"",
                         "+",
                         "-",
                         "+-1",
                         "-+1",
                         "--1",
                         "12.5",
                         "123abc",
                         "abc",
                         "0x10",
                         "1e3",
                         " 123",
                         "123 ",
                         "\t1",
                         "1,2",
                         "9223372036854775808",
                         "+9223372036854775808",
                         "-9223372036854775809",
                         "18446744073709551616",
                         "99999999999999999999999999",
                         "-99999999999999999999999999",
                         "NaN",
                         "Infinity",
                         "\xef\xbc\x91"};  // FULLWIDTH DIGIT ONE
    for (const char *s : bad) {
        int64_t v = 42;
        EXPECT_FALSE(pgstripe::parse_int64(s, &v)) << '"' << s << '"';
    }
    // An embedded NUL is not a digit.
    int64_t v = 0;
    EXPECT_FALSE(pgstripe::parse_int64("12\0"s "3", &v));
}

// ---------------------------------------------------------------------------------------------
// parse_signature_header

TEST(ParseHeader, Basic) {
    auto h = pgstripe::parse_signature_header("t=1492774577,v1=abc,v0=def");
    EXPECT_TRUE(h.has_timestamp);
    EXPECT_TRUE(h.timestamp_ok);
    EXPECT_EQ(h.timestamp, 1492774577);
    ASSERT_EQ(h.v1.size(), 1u);
    EXPECT_EQ(h.v1[0], "abc");
}

TEST(ParseHeader, LastTimestampWins) {
    auto h = pgstripe::parse_signature_header("t=1,v1=a,t=2,t=3");
    EXPECT_TRUE(h.timestamp_ok);
    EXPECT_EQ(h.timestamp, 3);
    // The last t is unparsable: the header's t is bad, even though an earlier one was fine.
    h = pgstripe::parse_signature_header("t=1,v1=a,t=x");
    EXPECT_TRUE(h.has_timestamp);
    EXPECT_FALSE(h.timestamp_ok);
    // An earlier bad t is overridden by a later good one.
    h = pgstripe::parse_signature_header("t=x,v1=a,t=7");
    EXPECT_TRUE(h.timestamp_ok);
    EXPECT_EQ(h.timestamp, 7);
}

TEST(ParseHeader, KeysAreExact) {
    for (const char *hdr : {" t=1", "t =1", "T=1", "tt=1", "t\t=1", "\"t\"=1", "ts=1"}) {
        auto h = pgstripe::parse_signature_header(hdr);
        EXPECT_FALSE(h.has_timestamp) << hdr;
    }
    for (const char *hdr : {"t=1, v1=a", "t=1,V1=a", "t=1,v1 =a", "t=1,v10=a", "t=1,v=a", "t=1,v2=a"}) {
        auto h = pgstripe::parse_signature_header(hdr);
        EXPECT_TRUE(h.timestamp_ok) << hdr;
        EXPECT_TRUE(h.v1.empty()) << hdr;
    }
    // The value is not trimmed either.
    auto h = pgstripe::parse_signature_header("t= 1,v1= a");
    EXPECT_TRUE(h.has_timestamp);
    EXPECT_FALSE(h.timestamp_ok);
    ASSERT_EQ(h.v1.size(), 1u);
    EXPECT_EQ(h.v1[0], " a");
}

TEST(ParseHeader, PartsWithoutEqualsAreIgnored) {
    auto h = pgstripe::parse_signature_header("t,t=5,v1,v1=abc,v0,junk,,");
    EXPECT_TRUE(h.timestamp_ok);
    EXPECT_EQ(h.timestamp, 5);
    ASSERT_EQ(h.v1.size(), 1u);
    EXPECT_EQ(h.v1[0], "abc");
    // A trailing "t" without '=' does not override the earlier t.
    h = pgstripe::parse_signature_header("t=5,v1=abc,t");
    EXPECT_TRUE(h.timestamp_ok);
    EXPECT_EQ(h.timestamp, 5);
}

TEST(ParseHeader, SplitsOnFirstEqualsOnly) {
    auto h = pgstripe::parse_signature_header("t=5,v1=ab=cd,v1==x");
    ASSERT_EQ(h.v1.size(), 2u);
    EXPECT_EQ(h.v1[0], "ab=cd");
    EXPECT_EQ(h.v1[1], "=x");
    h = pgstripe::parse_signature_header("t=5=6");
    EXPECT_TRUE(h.has_timestamp);
    EXPECT_FALSE(h.timestamp_ok);  // "5=6" is not an integer
}

TEST(ParseHeader, MultipleV1KeptInOrderAndV0Ignored) {
    auto h = pgstripe::parse_signature_header("v0=zero,v1=first,t=9,v1=,v1=third,v0=x,unknown=1");
    EXPECT_EQ(h.timestamp, 9);
    ASSERT_EQ(h.v1.size(), 3u);
    EXPECT_EQ(h.v1[0], "first");
    EXPECT_EQ(h.v1[1], "");
    EXPECT_EQ(h.v1[2], "third");
}

TEST(ParseHeader, EmptyAndDegenerate) {
    for (const char *hdr : {"", ",", ",,,", "=", "=1", "v0=1", "v1=a"}) {
        auto h = pgstripe::parse_signature_header(hdr);
        EXPECT_FALSE(h.has_timestamp) << hdr;
    }
    auto h = pgstripe::parse_signature_header("t=");
    EXPECT_TRUE(h.has_timestamp);
    EXPECT_FALSE(h.timestamp_ok);
}

TEST(ParseHeader, TimestampRange) {
    auto h = pgstripe::parse_signature_header("t=-9223372036854775808");
    EXPECT_TRUE(h.timestamp_ok);
    EXPECT_EQ(h.timestamp, kMin);
    h = pgstripe::parse_signature_header("t=9223372036854775807");
    EXPECT_TRUE(h.timestamp_ok);
    EXPECT_EQ(h.timestamp, kMax);
    h = pgstripe::parse_signature_header("t=9223372036854775808");
    EXPECT_FALSE(h.timestamp_ok);
}

// ---------------------------------------------------------------------------------------------
// verify: every verdict and the order in which they are checked

TEST(Verify, ValidSignature) {
    auto r = run(kPayload, header_for(kT), {kSecret});
    EXPECT_EQ(r.verdict, Verdict::Ok);
    EXPECT_EQ(r.timestamp, kT);
    EXPECT_EQ(r.age, 0);
    EXPECT_FALSE(r.secret_has_whitespace);
}

TEST(Verify, EachVerdict) {
    const std::string good = header_for(kT);
    EXPECT_EQ(run("", good, {kSecret}).verdict, Verdict::NoPayload);
    EXPECT_EQ(run(kPayload, "", {kSecret}).verdict, Verdict::NoHeader);
    EXPECT_EQ(run(kPayload, "v1=" + pgstripe::sign_hex(kSecret, kT, kPayload), {kSecret}).verdict,
              Verdict::BadHeader);
    EXPECT_EQ(run(kPayload, "t=abc,v1=00", {kSecret}).verdict, Verdict::BadHeader);
    EXPECT_EQ(run(kPayload, "t=" + std::to_string(kT), {kSecret}).verdict, Verdict::NoSignatures);
    EXPECT_EQ(run(kPayload, "t=" + std::to_string(kT) + ",v0=" + pgstripe::sign_hex(kSecret, kT, kPayload),
                  {kSecret})
                  .verdict,
              Verdict::NoSignatures);
    EXPECT_EQ(run(kPayload, good, {""}).verdict, Verdict::NoSecret);
    EXPECT_EQ(run(kPayload, good, {}).verdict, Verdict::NoSecret);
    EXPECT_EQ(run(kPayload, good, {"whsec_other"}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload + " ", good, {kSecret}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, good, {kSecret}, 300, kT + 301).verdict, Verdict::TooOld);
}

TEST(Verify, OrderOfChecks) {
    // Each line has every failure from its own class onward; the earliest class must win.
    // payload before header
    EXPECT_EQ(run("", "", {""}, 300, kMax).verdict, Verdict::NoPayload);
    // header before secret
    EXPECT_EQ(run(kPayload, "", {""}).verdict, Verdict::NoHeader);
    // t before v1 and before secret
    EXPECT_EQ(run(kPayload, "t=x", {""}).verdict, Verdict::BadHeader);
    EXPECT_EQ(run(kPayload, "v0=1", {}).verdict, Verdict::BadHeader);
    // v1 before secret
    EXPECT_EQ(run(kPayload, "t=1", {""}).verdict, Verdict::NoSignatures);
    // secret before signature
    EXPECT_EQ(run(kPayload, "t=1,v1=00", {" \t"}).verdict, Verdict::NoSecret);
    // signature before timestamp: a wrong signature that is also too old is a mismatch
    EXPECT_EQ(run(kPayload, header_for(kT - 10000), {"whsec_wrong"}).verdict, Verdict::Mismatch);
    // timestamp last
    EXPECT_EQ(run(kPayload, header_for(kT - 10000), {kSecret}).verdict, Verdict::TooOld);
}

TEST(Verify, SignedMessageUsesReprintedTimestamp) {
    // "+0123" and "0123" sign as "123"; "-0" signs as "0".
    std::string sig123 = pgstripe::sign_hex(kSecret, 123, kPayload);
    for (const char *t : {"123", "+123", "0123", "+0123", "000123"}) {
        std::string hdr = std::string("t=") + t + ",v1=" + sig123;
        EXPECT_EQ(run(kPayload, hdr, {kSecret}, 0).verdict, Verdict::Ok) << t;
    }
    // The literal header text is not what is signed.
    std::string literal = openssl_hmac_hex(kSecret, "+0123." + kPayload);
    EXPECT_EQ(run(kPayload, "t=+0123,v1=" + literal, {kSecret}, 0).verdict, Verdict::Mismatch);
    std::string sig0 = pgstripe::sign_hex(kSecret, 0, kPayload);
    EXPECT_EQ(run(kPayload, "t=-0,v1=" + sig0, {kSecret}, 0).verdict, Verdict::Ok);
    EXPECT_EQ(run(kPayload, "t=-0,v1=" + openssl_hmac_hex(kSecret, "-0." + kPayload), {kSecret}, 0).verdict,
              Verdict::Mismatch);
}

TEST(Verify, UnparsableTimestamps) {
    // Even with a signature computed over the literal text, these are header errors.
    for (const char *t : {"abc", "12.5", "123abc", "", "+", "-", " 1", "1 ", "NaN", "9223372036854775808",
                          "-9223372036854775809", "99999999999999999999"}) {
        std::string hdr = std::string("t=") + t + ",v1=" + openssl_hmac_hex(kSecret, std::string(t) + "." + kPayload);
        EXPECT_EQ(run(kPayload, hdr, {kSecret}, 0).verdict, Verdict::BadHeader) << t;
    }
}

TEST(Verify, PayloadBytesAreSignedExactly) {
    for (const std::string &p : {"a\0b"s, "\xff\xfe\xfd"s, "\xef\xbb\xbf{\"a\":1}"s, "\r\n"s, bytes(70000, 5)}) {
        std::string hdr = "t=" + std::to_string(kT) + ",v1=" + openssl_hmac_hex(kSecret, std::to_string(kT) + "." + p);
        EXPECT_EQ(run(p, hdr, {kSecret}).verdict, Verdict::Ok);
        // One byte less is a different message.
        EXPECT_EQ(run(std::string_view(p).substr(0, p.size() - 1), hdr, {kSecret}).verdict,
                  p.size() > 1 ? Verdict::Mismatch : Verdict::NoPayload);
    }
    // A BOM is not stripped: a signature over the body without it does not match.
    std::string body = "{\"a\":1}";
    EXPECT_EQ(run("\xef\xbb\xbf" + body, header_for(kT, kSecret, body), {kSecret}).verdict, Verdict::Mismatch);
}

// ---------------------------------------------------------------------------------------------
// Candidates

TEST(Verify, CandidateForms) {
    const std::string sig = pgstripe::sign_hex(kSecret, kT, kPayload);
    const std::string ts = "t=" + std::to_string(kT);
    std::string upper = sig;
    for (auto &c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
    ASSERT_NE(upper, sig);  // the signature has letters
    EXPECT_EQ(run(kPayload, ts + ",v1=" + upper, {kSecret}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, ts + ",v1=" + sig.substr(0, 63), {kSecret}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, ts + ",v1=" + sig + "0", {kSecret}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, ts + ",v1=" + sig + " ", {kSecret}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, ts + ",v1= " + sig, {kSecret}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, ts + ",v1=", {kSecret}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, ts + ",v1=" + std::string(64, 'z'), {kSecret}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, ts + ",v1=" + sig + "=", {kSecret}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, ts + ",v0=" + sig + ",v1=00", {kSecret}).verdict, Verdict::Mismatch);
    // Any v1 may match, wherever it stands; bad candidates around it do not raise.
    EXPECT_EQ(run(kPayload, ts + ",v1=,v1=" + upper + ",v1=zz,v1=" + sig + ",v1=00", {kSecret}).verdict,
              Verdict::Ok);
    EXPECT_EQ(run(kPayload, "v1=" + sig + "," + ts, {kSecret}).verdict, Verdict::Ok);
    EXPECT_EQ(run(kPayload, ts + ",v1=" + sig + ",v1", {kSecret}).verdict, Verdict::Ok);
    EXPECT_EQ(run(kPayload, ts + ",v1=" + sig + ",", {kSecret}).verdict, Verdict::Ok);
    EXPECT_EQ(run(kPayload, "," + ts + ",,v1=" + sig, {kSecret}).verdict, Verdict::Ok);
}

// ---------------------------------------------------------------------------------------------
// Tolerance

TEST(Verify, ToleranceEdges) {
    const std::string hdr = header_for(kT);
    auto at = [&](int64_t now, int64_t tol) { return run(kPayload, hdr, {kSecret}, tol, now).verdict; };
    EXPECT_EQ(at(kT + 300, 300), Verdict::Ok);      // exactly at the limit
    EXPECT_EQ(at(kT + 301, 300), Verdict::TooOld);  // one second past
    EXPECT_EQ(at(kT - 1, 300), Verdict::Ok);        // future
    EXPECT_EQ(at(kMin, 300), Verdict::Ok);          // far future
    EXPECT_EQ(at(kT + 1, 1), Verdict::Ok);
    EXPECT_EQ(at(kT + 2, 1), Verdict::TooOld);
    EXPECT_EQ(at(kMax, 0), Verdict::Ok);   // 0 disables
    EXPECT_EQ(at(kMax, -1), Verdict::Ok);  // negative disables
    EXPECT_EQ(at(kMax, kMin), Verdict::Ok);
    EXPECT_EQ(at(kMax, kMax), Verdict::Ok);  // age < INT64_MAX
    EXPECT_EQ(at(kT + 2147483647LL, 2147483647LL), Verdict::Ok);
    EXPECT_EQ(at(kT + 2147483648LL, 2147483647LL), Verdict::TooOld);
}

TEST(Verify, AgeReported) {
    auto r = run(kPayload, header_for(kT), {kSecret}, 300, kT + 1000);
    EXPECT_EQ(r.verdict, Verdict::TooOld);
    EXPECT_EQ(r.age, 1000);
    EXPECT_EQ(r.timestamp, kT);
    r = run(kPayload, header_for(kT), {kSecret}, 300, kT - 5);
    EXPECT_EQ(r.verdict, Verdict::Ok);
    EXPECT_EQ(r.age, -5);
}

TEST(Verify, ExtremeTimestampsDoNotOverflow) {
    // t = INT64_MIN: now - t exceeds int64; it is simply too old.
    auto r = run(kPayload, header_for(kMin), {kSecret}, 300, kT);
    EXPECT_EQ(r.verdict, Verdict::TooOld);
    EXPECT_EQ(r.timestamp, kMin);
    EXPECT_EQ(r.age, kMax);  // saturated
    EXPECT_EQ(run(kPayload, header_for(kMin), {kSecret}, 1, kMin).verdict, Verdict::Ok);
    EXPECT_EQ(run(kPayload, header_for(kMin), {kSecret}, 0, kT).verdict, Verdict::Ok);
    // t = INT64_MAX is in the future of every now.
    r = run(kPayload, header_for(kMax), {kSecret}, 300, kMin);
    EXPECT_EQ(r.verdict, Verdict::Ok);
    EXPECT_EQ(r.age, kMin);  // saturated
    EXPECT_EQ(run(kPayload, header_for(kMax), {kSecret}, 300, kMax).verdict, Verdict::Ok);
    EXPECT_EQ(run(kPayload, header_for(kMin + 1), {kSecret}, 300, -1).verdict, Verdict::TooOld);
    EXPECT_EQ(run(kPayload, header_for(-1), {kSecret}, 300, kMax).verdict, Verdict::TooOld);
    EXPECT_EQ(run(kPayload, header_for(-1), {kSecret}, 300, 299).verdict, Verdict::Ok);
    EXPECT_EQ(run(kPayload, header_for(-1), {kSecret}, 300, 300).verdict, Verdict::TooOld);
}

// ---------------------------------------------------------------------------------------------
// Secrets

TEST(Verify, BlankSecrets) {
    const std::string hdr = header_for(kT);
    for (const std::string &s : {""s, " "s, "\t"s, "\n"s, "\r\n"s, "\v"s, "\f"s, " \t\n\v\f\r "s}) {
        EXPECT_EQ(run(kPayload, hdr, {s}).verdict, Verdict::NoSecret) << '"' << s << '"';
    }
    // Not ASCII whitespace: a usable (wrong) secret.
    for (const std::string &s : {"\xc2\xa0"s, "\0"s, "\x1c"s, "\xe2\x80\x83"s}) {
        EXPECT_EQ(run(kPayload, hdr, {s}).verdict, Verdict::Mismatch);
    }
    // A NUL-containing secret is a secret like any other.
    const std::string nul = "whsec_\0x"s;
    EXPECT_EQ(run(kPayload, header_for(kT, nul), {nul}).verdict, Verdict::Ok);
}

TEST(Verify, SecretArrays) {
    const std::string hdr = header_for(kT);
    EXPECT_EQ(run(kPayload, hdr, {"", " ", kSecret}).verdict, Verdict::Ok);
    EXPECT_EQ(run(kPayload, hdr, {kSecret, "\t"}).verdict, Verdict::Ok);
    EXPECT_EQ(run(kPayload, hdr, {"", " ", "\n"}).verdict, Verdict::NoSecret);
    EXPECT_EQ(run(kPayload, hdr, {"", "whsec_other"}).verdict, Verdict::Mismatch);
    // Rotation: old and new secrets, the delivery signed with either (or both) passes.
    const std::string old_s = "whsec_old", new_s = "whsec_new";
    const std::string by_old = header_for(kT, old_s), by_new = header_for(kT, new_s);
    const std::string by_both = by_new + ",v1=" + pgstripe::sign_hex(old_s, kT, kPayload);
    for (const auto &h : {by_old, by_new, by_both}) {
        EXPECT_EQ(run(kPayload, h, {old_s, new_s}).verdict, Verdict::Ok);
        EXPECT_EQ(run(kPayload, h, {new_s, old_s}).verdict, Verdict::Ok);
    }
    EXPECT_EQ(run(kPayload, by_old, {new_s}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, by_new, {old_s}).verdict, Verdict::Mismatch);
    // One matching secret, too old: the tolerance failure, not a mismatch.
    EXPECT_EQ(run(kPayload, by_new, {old_s, new_s}, 300, kT + 301).verdict, Verdict::TooOld);
    // The secret is the whole string, prefix included; it is not trimmed.
    EXPECT_EQ(run(kPayload, header_for(kT, "test_secret"), {"whsec_test_secret"}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, hdr, {kSecret + "\n"}).verdict, Verdict::Mismatch);
    EXPECT_EQ(run(kPayload, hdr, {" " + kSecret}).verdict, Verdict::Mismatch);
}

TEST(Verify, WhitespaceFlag) {
    const std::string hdr = header_for(kT);
    for (const std::string &s : {kSecret + "\n", " " + kSecret, "a b"s, "a\tb"s, "a\vb"s, "a\fb"s, "a\rb"s}) {
        auto r = run(kPayload, hdr, {s});
        EXPECT_EQ(r.verdict, Verdict::Mismatch);
        EXPECT_TRUE(r.secret_has_whitespace) << '"' << s << '"';
    }
    EXPECT_FALSE(run(kPayload, hdr, {"whsec_other"}).secret_has_whitespace);
    EXPECT_FALSE(run(kPayload, hdr, {"a\xc2\xa0" "b"}).secret_has_whitespace);  // NBSP is not ASCII
    // Any given secret counts, also one that matched or was ignored as blank.
    EXPECT_TRUE(run(kPayload, hdr, {"whsec_other", "x y"}).secret_has_whitespace);
    EXPECT_TRUE(run(kPayload, hdr, {" ", "whsec_other"}).secret_has_whitespace);
    const std::string ws = "whsec_with space";
    auto r = run(kPayload, header_for(kT, ws), {ws});
    EXPECT_EQ(r.verdict, Verdict::Ok);
    EXPECT_TRUE(r.secret_has_whitespace);
}

// ---------------------------------------------------------------------------------------------
// Helpers and messages

TEST(Helpers, BlankAndWhitespace) {
    EXPECT_TRUE(pgstripe::is_blank(""));
    EXPECT_TRUE(pgstripe::is_blank(" \t\n\v\f\r"));
    EXPECT_FALSE(pgstripe::is_blank(" x "));
    EXPECT_FALSE(pgstripe::is_blank("\0"s));
    EXPECT_FALSE(pgstripe::is_blank("\xc2\xa0"));
    EXPECT_FALSE(pgstripe::has_whitespace(""));
    EXPECT_FALSE(pgstripe::has_whitespace("whsec_abc"));
    for (char c : {' ', '\t', '\n', '\v', '\f', '\r'}) EXPECT_TRUE(pgstripe::has_whitespace(std::string("ab") + c));
}

TEST(Messages, StripeNodeWording) {
    EXPECT_STREQ(pgstripe::verdict_message(Verdict::NoPayload), "No webhook payload was provided.");
    EXPECT_STREQ(pgstripe::verdict_message(Verdict::NoHeader), "No stripe-signature header value was provided.");
    EXPECT_STREQ(pgstripe::verdict_message(Verdict::BadHeader),
                 "Unable to extract timestamp and signatures from header");
    EXPECT_STREQ(pgstripe::verdict_message(Verdict::NoSignatures), "No signatures found with expected scheme");
    EXPECT_STREQ(pgstripe::verdict_message(Verdict::NoSecret),
                 "No webhook secret value was provided. It should start with `whsec_`");
    EXPECT_STREQ(pgstripe::verdict_message(Verdict::Mismatch),
                 "No signatures found matching the expected signature for payload. Are you passing the raw request "
                 "body you received from Stripe?");
    EXPECT_STREQ(pgstripe::verdict_message(Verdict::TooOld), "Timestamp outside the tolerance zone");
}

TEST(Messages, ReasonsAreDistinct) {
    const Verdict all[] = {Verdict::Ok,           Verdict::NoPayload, Verdict::NoHeader, Verdict::BadHeader,
                           Verdict::NoSignatures, Verdict::NoSecret,  Verdict::Mismatch, Verdict::TooOld};
    for (auto a : all)
        for (auto b : all)
            if (a != b) {
                EXPECT_STRNE(pgstripe::verdict_reason(a), pgstripe::verdict_reason(b));
                EXPECT_STRNE(pgstripe::verdict_message(a), pgstripe::verdict_message(b));
            }
}

}  // namespace
