// bench/micro/hmac_bench.cpp — Google Benchmark: our HMAC path vs bare OpenSSL, per body size.
//
//   cmake -S . -B build && cmake --build build --target micro_bench && build/micro_bench --benchmark_filter=Hmac
//
// Synthetic Stripe-like bodies of 1, 2.5 and 4 KB (bench/bare_hmac.cpp runs the same methods over
// the real benchmark table's payloads; this one is for quick A/B work on src/core/signature.cpp).
#include "signature.hpp"

#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

namespace {

const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr int64_t kT = 1718884800;

std::string body(size_t n) {
    std::string b = "{\n  \"id\": \"evt_1PgafTB7WZ01zgkW\",\n  \"object\": \"event\",\n  \"data\": {\n    \"note\": \"";
    while (b.size() + 4 < n) b += "Order 42: 2x Widget (blue). ";
    b.resize(n - 4);
    b += "\"}}\n";
    return b;
}

std::string message(size_t n) { return std::to_string(kT) + "." + body(n); }

void HmacBare_EvpMacReused(benchmark::State &st) {
    std::string msg = message(size_t(st.range(0)));
    EVP_MAC *mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    char dn[] = "SHA256";
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, dn, 0), OSSL_PARAM_construct_end()};
    EVP_MAC_CTX_set_params(ctx, p);
    unsigned char out[32];
    for (auto _ : st) {
        size_t n = 0;
        EVP_MAC_init(ctx, reinterpret_cast<const unsigned char *>(kSecret.data()), kSecret.size(), nullptr);
        EVP_MAC_update(ctx, reinterpret_cast<const unsigned char *>(msg.data()), msg.size());
        EVP_MAC_final(ctx, out, &n, sizeof out);
        benchmark::DoNotOptimize(out);
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(msg.size()));
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

void HmacBare_HmacCtxReused(benchmark::State &st) {
    std::string msg = message(size_t(st.range(0)));
    EVP_MD *md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    HMAC_CTX *ctx = HMAC_CTX_new();
    unsigned char out[32];
    for (auto _ : st) {
        unsigned int n = 0;
        HMAC_Init_ex(ctx, kSecret.data(), int(kSecret.size()), md, nullptr);
        HMAC_Update(ctx, reinterpret_cast<const unsigned char *>(msg.data()), msg.size());
        HMAC_Final(ctx, out, &n);
        benchmark::DoNotOptimize(out);
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(msg.size()));
    HMAC_CTX_free(ctx);
    EVP_MD_free(md);
}

void HmacBare_OneShot(benchmark::State &st) {
    std::string msg = message(size_t(st.range(0)));
    unsigned char out[32];
    for (auto _ : st) {
        unsigned int n = 0;
        HMAC(EVP_sha256(), kSecret.data(), int(kSecret.size()), reinterpret_cast<const unsigned char *>(msg.data()),
             msg.size(), out, &n);
        benchmark::DoNotOptimize(out);
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(msg.size()));
}

void HmacOurs_SignHex(benchmark::State &st) {
    std::string b = body(size_t(st.range(0)));
    char out[64];
    for (auto _ : st) {
        pgstripe::sign_hex(kSecret, kT, b, out);
        benchmark::DoNotOptimize(out);
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(b.size()));
}

void HmacOurs_Verify(benchmark::State &st) {
    std::string b = body(size_t(st.range(0)));
    std::string header = "t=" + std::to_string(kT) + ",v1=" + pgstripe::sign_hex(kSecret, kT, b);
    std::vector<std::string_view> secrets{kSecret};
    for (auto _ : st) {
        auto r = pgstripe::verify(b, header, secrets, 300, kT + 10);
        if (r.verdict != pgstripe::Verdict::Ok) st.SkipWithError("verify failed");
        benchmark::DoNotOptimize(r);
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(b.size()));
}

}  // namespace

BENCHMARK(HmacBare_EvpMacReused)->Arg(1024)->Arg(2560)->Arg(4096);
BENCHMARK(HmacBare_HmacCtxReused)->Arg(1024)->Arg(2560)->Arg(4096);
BENCHMARK(HmacBare_OneShot)->Arg(1024)->Arg(2560)->Arg(4096);
BENCHMARK(HmacOurs_SignHex)->Arg(1024)->Arg(2560)->Arg(4096);
BENCHMARK(HmacOurs_Verify)->Arg(1024)->Arg(2560)->Arg(4096);
