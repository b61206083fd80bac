#include "cohort.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace pgstripe {

namespace {

// Where one customer counts: +sign in every cell of their months under their cohort.
void contribute(std::map<std::pair<int32_t, int32_t>, CohortCell> &cells, const std::vector<int32_t> &months,
                int64_t total, int sign) {
    if (months.empty()) return;
    const int32_t cohort = months.front();
    for (int32_t m : months) {
        CohortCell &c = cells[{cohort, m}];
        c.cohort_month = cohort, c.month = m;
        c.customers += sign;
        if (m == cohort && total >= 2) c.repeaters += sign;
    }
}

}  // namespace

CohortChange cohort_change(const CustomerMonths &before, int32_t month, int delta) {
    if (delta != 1 && delta != -1) throw std::domain_error("a cohort change is one payment");
    CohortChange out;
    out.in_month = before.in_month + delta;
    if (out.in_month < 0 || before.total + delta < 0)
        throw std::domain_error("a payment would leave a month the customer has none in");

    std::vector<int32_t> after = before.months;
    if (before.in_month == 0 && out.in_month > 0) {
        after.insert(std::lower_bound(after.begin(), after.end(), month), month);
    } else if (before.in_month > 0 && out.in_month == 0) {
        after.erase(std::remove(after.begin(), after.end(), month), after.end());
    }
    const int64_t total_after = before.total + delta;
    // Nothing a cell shows changed: same months, same side of "two payments or more".
    if (after == before.months && (before.total >= 2) == (total_after >= 2)) return out;

    std::map<std::pair<int32_t, int32_t>, CohortCell> cells;  // ordered by (cohort, month)
    contribute(cells, before.months, before.total, -1);
    contribute(cells, after, total_after, +1);
    for (const auto &[key, c] : cells)
        if (c.customers != 0 || c.repeaters != 0) out.cells.push_back(c);
    return out;
}

}  // namespace pgstripe
