// The cut values of customer_rfm's scores (SPEC §3), in pure C++ (no postgres.h).
//
// Within a partition of n customers, a customer's score in one dimension is
// least(5, 1 + floor(5p)) with p = c / (n - 1), c = how many customers have a smaller value. The
// score never decreases with c, and is >= k exactly when c >= T(k, n) = ceil((k - 1)(n - 1) / 5),
// that is when the value is greater than the T-th smallest value of the partition. So four values
// per partition and dimension -- the values at ranks T(2..5, n) -- decide every score
// (src/sql/30_analytics.sql, stripe._rfm_cuts, compares customers with them).
#pragma once
#include "cpp_only.hpp"

#include <cstdint>

namespace pgstripe {

// T(k, n), 1-based, for k = 2..5 and n > 1.
constexpr int64_t rfm_cut_rank(int64_t n, int k) { return ((k - 1) * (n - 1) + 4) / 5; }

// The values at ranks T(2, n) .. T(5, n) of values[0 .. n) into out[0 .. 3], in O(n) (four
// selections, each over what is left above the previous one); the values are reordered. False,
// and out untouched, when n <= 1: one customer has no cuts (every score is 1).
bool rfm_cuts(int64_t *values, int64_t n, int64_t out[4]) noexcept;

}  // namespace pgstripe
