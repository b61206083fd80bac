// bench/bare_hmac.cpp — bare OpenSSL HMAC-SHA256 over the SAME payloads the SQL benchmark uses.
//
// Input (written by bench/verify.sh with psql \copy): one line per row,
//     <t> TAB <hex of the payload's UTF-8 bytes> TAB <Stripe-Signature header>
// and the secret as argv[2]. Every method is checked against the header's v1 for every row, so
// all of them hash exactly the messages the server verifies ("<t>.<payload>").
//
// Output: one line per method, "name<TAB>median ns/call<TAB>best ns/call", on stdout.
//
//   bare_hmac <payload-file> <secret> [repeats=5]
//
// Build: g++ -std=c++17 -O2 -Isrc/core bench/bare_hmac.cpp src/core/signature.cpp -lcrypto
#include "signature.hpp"

#define OPENSSL_SUPPRESS_DEPRECATED 1  // HMAC_CTX/HMAC(): deprecated in OpenSSL 3, still the classic way
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Row {
    int64_t t;
    size_t tlen;         // digits of t
    std::string buf;     // "<t>.<payload>" then the header, in one allocation (as in a heap tuple)
    size_t msglen;
    unsigned char want[32];
    std::string_view msg() const { return std::string_view(buf).substr(0, msglen); }  // one-shot HMAC() needs it contiguous
    std::string_view payload() const { return msg().substr(tlen + 1); }
    std::string_view header() const { return std::string_view(buf).substr(msglen); }
};

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool unhex(std::string_view h, std::string &out) {
    if (h.size() % 2) return false;
    out.reserve(out.size() + h.size() / 2);
    for (size_t i = 0; i < h.size(); i += 2) {
        int a = hexval(h[i]), b = hexval(h[i + 1]);
        if (a < 0 || b < 0) return false;
        out.push_back(char(a * 16 + b));
    }
    return true;
}

[[noreturn]] void die(const std::string &m) {
    std::cerr << "bare_hmac: " << m << "\n";
    std::exit(1);
}

std::vector<Row> load(const char *path) {
    std::ifstream in(path);
    if (!in) die(std::string("cannot open ") + path);
    std::vector<Row> rows;
    std::string line;
    while (std::getline(in, line)) {
        size_t a = line.find('\t'), b = line.find('\t', a + 1);
        if (a == std::string::npos || b == std::string::npos) die("bad line " + std::to_string(rows.size() + 1));
        Row r;
        std::string ts = line.substr(0, a);
        if (!pgstripe::parse_int64(ts, &r.t)) die("bad t");
        r.tlen = ts.size();
        r.buf = ts + ".";
        if (!unhex(std::string_view(line).substr(a + 1, b - a - 1), r.buf)) die("bad hex payload");
        r.msglen = r.buf.size();
        r.buf += line.substr(b + 1);
        pgstripe::SignatureHeader h = pgstripe::parse_signature_header(r.header());
        if (h.v1.empty() || h.v1[0].size() != 64) die("no v1 in header");
        std::string raw;
        if (!unhex(h.v1[0], raw)) die("bad v1");
        std::memcpy(r.want, raw.data(), 32);
        rows.push_back(std::move(r));
    }
    if (rows.empty()) die("no rows");
    return rows;
}

struct Result {
    std::string name, note;
    double median_ns, best_ns;
};

// Runs `one(row, out)` over all rows `repeats` times (after one warm-up pass), checks every
// output against the expected MAC, and returns median/best ns per call.
template <typename F>
Result measure(const std::string &name, const std::string &note, const std::vector<Row> &rows, int repeats,
               size_t outlen, F one) {
    std::vector<double> per;
    for (int rep = -1; rep < repeats; rep++) {
        size_t bad = 0;
        unsigned char out[64];
        auto t0 = std::chrono::steady_clock::now();
        for (const Row &r : rows) {
            one(r, out);
            // Cheap and keeps the work observable; the real check is below, outside the clock.
            bad += out[0] != (outlen == 32 ? r.want[0] : out[0]);
        }
        auto t1 = std::chrono::steady_clock::now();
        if (bad) die(name + ": wrong MAC");
        if (rep >= 0) per.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / rows.size());
    }
    // Full correctness check, not timed.
    for (const Row &r : rows) {
        unsigned char out[64];
        one(r, out);
        if (outlen == 32 && std::memcmp(out, r.want, 32) != 0) die(name + ": wrong MAC");
        if (outlen == 64) {
            static const char hx[] = "0123456789abcdef";
            for (int i = 0; i < 32; i++)
                if (out[2 * i] != hx[r.want[i] >> 4] || out[2 * i + 1] != hx[r.want[i] & 15]) die(name + ": wrong hex");
        }
        if (outlen == 1 && !out[0]) die(name + ": verify failed");
    }
    std::sort(per.begin(), per.end());
    return {name, note, per[per.size() / 2], per.front()};
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) die("usage: bare_hmac <payload-file> <secret> [repeats]");
    const std::string secret = argv[2];
    const int repeats = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
    std::vector<Row> rows = load(argv[1]);
    const unsigned char *key = reinterpret_cast<const unsigned char *>(secret.data());
    const size_t keylen = secret.size();

    EVP_MD *sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MAC *hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX *mctx = EVP_MAC_CTX_new(hmac);
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                           OSSL_PARAM_construct_end()};
    if (!sha256 || !hmac || !mctx || EVP_MAC_CTX_set_params(mctx, params) != 1) die("OpenSSL setup failed");
    HMAC_CTX *hctx = HMAC_CTX_new();

    std::vector<Result> res;

    // 1. EVP_MAC (OpenSSL 3's own API): context and digest fetched once, key set per message.
    res.push_back(measure("evp_mac_reused", "EVP_MAC_CTX reused, EVP_MAC_init(key) per message", rows, repeats, 32,
                          [&](const Row &r, unsigned char *out) {
                              size_t n = 0;
                              if (EVP_MAC_init(mctx, key, keylen, nullptr) != 1 ||
                                  EVP_MAC_update(mctx, reinterpret_cast<const unsigned char *>(r.msg().data()),
                                                 r.msg().size()) != 1 ||
                                  EVP_MAC_final(mctx, out, &n, 32) != 1)
                                  die("EVP_MAC failed");
                          }));
    // 2. Classic HMAC_CTX, reused, with the prefetched SHA256 and the key per message.
    res.push_back(measure("hmac_ctx_reused", "HMAC_CTX reused, HMAC_Init_ex(key, fetched md) per message", rows,
                          repeats, 32, [&](const Row &r, unsigned char *out) {
                              unsigned int n = 0;
                              if (HMAC_Init_ex(hctx, key, int(keylen), sha256, nullptr) != 1 ||
                                  HMAC_Update(hctx, reinterpret_cast<const unsigned char *>(r.msg().data()),
                                              r.msg().size()) != 1 ||
                                  HMAC_Final(hctx, out, &n) != 1)
                                  die("HMAC_CTX failed");
                          }));
    // 3. One-shot HMAC() with EVP_sha256(): what most code writes (fetch + alloc per call in 3.x).
    res.push_back(measure("hmac_oneshot", "HMAC(EVP_sha256(), ...) one-shot", rows, repeats, 32,
                          [&](const Row &r, unsigned char *out) {
                              unsigned int n = 0;
                              if (!HMAC(EVP_sha256(), key, int(keylen),
                                        reinterpret_cast<const unsigned char *>(r.msg().data()), r.msg().size(), out, &n))
                                  die("HMAC failed");
                          }));
    // 4. Lower bound, for information: the key's ipad/opad state kept across messages
    //    (EVP_MAC_init with a NULL key re-uses it), i.e. two fewer SHA-256 blocks per message.
    if (EVP_MAC_init(mctx, key, keylen, nullptr) != 1) die("EVP_MAC_init failed");
    res.push_back(measure("evp_mac_key_cached", "EVP_MAC_init(NULL key): key schedule cached (lower bound)", rows,
                          repeats, 32, [&](const Row &r, unsigned char *out) {
                              size_t n = 0;
                              if (EVP_MAC_init(mctx, nullptr, 0, nullptr) != 1 ||
                                  EVP_MAC_update(mctx, reinterpret_cast<const unsigned char *>(r.msg().data()),
                                                 r.msg().size()) != 1 ||
                                  EVP_MAC_final(mctx, out, &n, 32) != 1)
                                  die("EVP_MAC failed");
                          }));
    // 5. Our core: pgstripe::sign_hex (HMAC + lowercase hex).
    res.push_back(measure("pgstripe_sign_hex", "pgstripe::sign_hex(secret, t, payload) -> 64 hex", rows, repeats, 64,
                          [&](const Row &r, unsigned char *out) {
                              pgstripe::sign_hex(secret, r.t, r.payload(), reinterpret_cast<char *>(out));
                          }));
    // 6. Our core's whole decision: pgstripe::verify (header parse, sign, constant-time compare).
    const int64_t now = rows.front().t;  // tolerance 0: no age check (the rows' t spread is irrelevant here)
    res.push_back(measure("pgstripe_verify", "pgstripe::verify(payload, header, {secret}, 0, now) (no Postgres)",
                          rows, repeats, 1, [&](const Row &r, unsigned char *out) {
                              std::vector<std::string_view> secrets{secret};
                              out[0] = pgstripe::verify(r.payload(), r.header(), secrets, 0, now).verdict ==
                                       pgstripe::Verdict::Ok;
                          }));

    size_t bytes = 0;
    for (const Row &r : rows) bytes += r.msg().size();
    std::printf("# rows=%zu mean_message_bytes=%.0f repeats=%d\n", rows.size(), double(bytes) / rows.size(), repeats);
    for (const Result &r : res) std::printf("%s\t%.1f\t%.1f\t%s\n", r.name.c_str(), r.median_ns, r.best_ns, r.note.c_str());

    HMAC_CTX_free(hctx);
    EVP_MAC_CTX_free(mctx);
    EVP_MAC_free(hmac);
    EVP_MD_free(sha256);
    return 0;
}
