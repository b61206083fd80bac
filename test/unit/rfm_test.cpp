// Unit tests of rfm_cuts (src/core/rfm.cpp).
//
// The reference is the SPEC's score itself: p = percent_rank() = c / (n - 1), c = customers with a
// smaller value, score = least(5, 1 + floor(5p)) in doubles, as Postgres computes it. Scoring
// every value against the cuts (score = 1 + how many cuts the value exceeds) must give the same.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "rfm.hpp"

using pgstripe::rfm_cut_rank;
using pgstripe::rfm_cuts;

namespace {

int spec_score(const std::vector<int64_t> &all, int64_t v) {
    const int64_t n = static_cast<int64_t>(all.size());
    if (n <= 1) return 1;  // percent_rank() of a single row is 0
    const int64_t c = std::count_if(all.begin(), all.end(), [&](int64_t x) { return x < v; });
    const double p = static_cast<double>(c) / static_cast<double>(n - 1);
    return static_cast<int>(std::min(5.0, 1.0 + std::floor(5.0 * p)));
}

int cut_score(const int64_t cuts[4], bool have, int64_t v) {
    int s = 1;
    if (have)
        for (int i = 0; i < 4; i++) s += v > cuts[i];
    return s;
}

void check(const std::vector<int64_t> &values) {
    std::vector<int64_t> work = values;
    int64_t cuts[4] = {-1, -1, -1, -1};
    const bool have = rfm_cuts(work.data(), static_cast<int64_t>(work.size()), cuts);
    ASSERT_EQ(have, values.size() > 1);
    std::vector<int64_t> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    std::sort(work.begin(), work.end());
    ASSERT_EQ(work, sorted) << "rfm_cuts may reorder the values, not change them";
    if (have)
        for (int k = 2; k <= 5; k++)
            ASSERT_EQ(cuts[k - 2], sorted[rfm_cut_rank(static_cast<int64_t>(sorted.size()), k) - 1]) << "k=" << k;
    // The distinct values are enough: a score depends on the value only.
    std::vector<int64_t> distinct = sorted;
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (int64_t v : distinct) ASSERT_EQ(cut_score(cuts, have, v), spec_score(values, v)) << "n=" << values.size() << " v=" << v;
}

}  // namespace

TEST(RfmCuts, RankMatchesTheCeilingFormula) {
    for (int64_t n = 2; n <= 5000; n++)
        for (int k = 2; k <= 5; k++) {
            const int64_t t = rfm_cut_rank(n, k);
            ASSERT_EQ(t, static_cast<int64_t>(std::ceil((k - 1) * static_cast<double>(n - 1) / 5.0))) << n << " " << k;
            ASSERT_GE(t, 1);
            ASSERT_LE(t, n - 1);
        }
}

TEST(RfmCuts, NoCutsBelowTwoValues) {
    int64_t cuts[4] = {7, 7, 7, 7};
    EXPECT_FALSE(rfm_cuts(nullptr, 0, cuts));
    int64_t one = 42;
    EXPECT_FALSE(rfm_cuts(&one, 1, cuts));
    EXPECT_EQ(cuts[0], 7);
}

TEST(RfmCuts, DistinctValuesEverySizeUpTo300) {
    for (int n = 0; n <= 300; n++) {
        std::vector<int64_t> v(n);
        for (int i = 0; i < n; i++) v[i] = (i * 7919) % (n ? n : 1) - n / 2;  // a permutation when n is prime to 7919
        check(v);
    }
}

TEST(RfmCuts, HeavyTiesAndExtremes) {
    std::mt19937_64 rng(20261126);
    for (int round = 0; round < 3000; round++) {
        const int n = static_cast<int>(rng() % 200);
        const int spread = 1 + static_cast<int>(rng() % 6);  // few distinct values: many ties
        std::vector<int64_t> v(n);
        for (auto &x : v) {
            const int64_t r = static_cast<int64_t>(rng() % spread);
            x = r == 0 ? INT64_MAX : r == 1 ? INT64_MIN : r;  // 'infinity' recency is INT64_MAX
        }
        check(v);
    }
}

TEST(RfmCuts, LargeRandomPartition) {
    std::mt19937_64 rng(7);
    std::vector<int64_t> v(100001);
    for (auto &x : v) x = static_cast<int64_t>(rng() % 5000);
    std::vector<int64_t> work = v, sorted = v;
    std::sort(sorted.begin(), sorted.end());
    int64_t cuts[4];
    ASSERT_TRUE(rfm_cuts(work.data(), static_cast<int64_t>(work.size()), cuts));
    for (int k = 2; k <= 5; k++) EXPECT_EQ(cuts[k - 2], sorted[rfm_cut_rank(100001, k) - 1]);
}
