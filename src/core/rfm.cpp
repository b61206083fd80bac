// See rfm.hpp.
#include "rfm.hpp"

#include <algorithm>

namespace pgstripe {

bool rfm_cuts(int64_t *values, int64_t n, int64_t out[4]) noexcept {
    if (n <= 1) return false;
    // Ranks never decrease with k. After a selection at `at`, everything from at + 1 on is >=
    // values[at] and everything before is <=, so the next rank is selected among the rest only;
    // an equal rank (small n) is already in place.
    int64_t from = 0;
    for (int k = 2; k <= 5; k++) {
        const int64_t at = rfm_cut_rank(n, k) - 1;
        if (at >= from) {
            std::nth_element(values + from, values + at, values + n);
            from = at + 1;
        }
        out[k - 2] = values[at];
    }
    return true;
}

}  // namespace pgstripe
