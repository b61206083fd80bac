// Unit tests of cohort_change (src/core/cohort.cpp).
//
// The reference is SPEC §3's definition applied from scratch: from every customer's payments per
// month, cohort = first month, cohort_size / active_customers / repeat_customers counted per
// (cohort, month). Incremental cells (what the SQL layer adds up in stripe.agg_cohorts) must equal
// it after every change.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "cohort.hpp"

using pgstripe::CohortCell;
using pgstripe::cohort_change;
using pgstripe::CustomerMonths;

namespace {

using Payments = std::map<int, std::map<int32_t, int64_t>>;  // customer -> month -> payments
using Cells = std::map<std::pair<int32_t, int32_t>, std::pair<int64_t, int64_t>>;  // (cohort, month) -> (customers, repeaters)

Cells from_scratch(const Payments &p) {
    Cells cells;
    for (const auto &[customer, months] : p) {
        int64_t total = 0;
        int32_t cohort = INT32_MAX;
        for (const auto &[m, n] : months)
            if (n > 0) total += n, cohort = std::min(cohort, m);
        if (total == 0) continue;
        for (const auto &[m, n] : months) {
            if (n <= 0) continue;
            auto &c = cells[{cohort, m}];
            c.first += 1;                                     // active in m (at m = cohort: the cohort size)
            if (m == cohort && total >= 2) c.second += 1;     // repeat customer, on the cohort's row
        }
    }
    return cells;
}

CustomerMonths before_of(const Payments &p, int customer, int32_t month) {
    CustomerMonths b;
    auto it = p.find(customer);
    if (it == p.end()) return b;
    for (const auto &[m, n] : it->second) {
        if (n <= 0) continue;
        b.months.push_back(m);
        b.total += n;
        if (m == month) b.in_month = n;
    }
    return b;
}

void add_cells(Cells &cells, const std::vector<CohortCell> &delta) {
    for (const auto &c : delta) {
        auto &x = cells[{c.cohort_month, c.month}];
        x.first += c.customers, x.second += c.repeaters;
    }
    for (auto it = cells.begin(); it != cells.end();)
        it = (it->second.first == 0 && it->second.second == 0) ? cells.erase(it) : std::next(it);
}

TEST(Cohort, FirstPaymentStartsACohort) {
    const auto ch = cohort_change({}, 5, +1);
    EXPECT_EQ(ch.in_month, 1);
    ASSERT_EQ(ch.cells.size(), 1u);
    EXPECT_EQ(std::tie(ch.cells[0].cohort_month, ch.cells[0].month, ch.cells[0].customers, ch.cells[0].repeaters),
              std::make_tuple(5, 5, int64_t{1}, int64_t{0}));
}

TEST(Cohort, SecondPaymentSameMonthMakesARepeater) {
    const auto ch = cohort_change({{5}, 1, 1}, 5, +1);
    EXPECT_EQ(ch.in_month, 2);
    ASSERT_EQ(ch.cells.size(), 1u);
    EXPECT_EQ(std::tie(ch.cells[0].cohort_month, ch.cells[0].month, ch.cells[0].customers, ch.cells[0].repeaters),
              std::make_tuple(5, 5, int64_t{0}, int64_t{1}));
}

TEST(Cohort, ThirdPaymentInAnActiveMonthChangesNoCell) {
    const auto ch = cohort_change({{5, 7}, 2, 1}, 7, +1);
    EXPECT_EQ(ch.in_month, 2);
    EXPECT_TRUE(ch.cells.empty());
}

TEST(Cohort, EarlierPaymentMovesTheWholeCustomer) {
    // Paid in 5 and 7 (2 payments: a repeater of cohort 5); a payment in 3 arrives late.
    const auto ch = cohort_change({{5, 7}, 2, 0}, 3, +1);
    std::map<std::pair<int32_t, int32_t>, std::pair<int64_t, int64_t>> got;
    for (const auto &c : ch.cells) got[{c.cohort_month, c.month}] = {c.customers, c.repeaters};
    const std::map<std::pair<int32_t, int32_t>, std::pair<int64_t, int64_t>> want = {
        {{3, 3}, {1, 1}}, {{3, 5}, {1, 0}}, {{3, 7}, {1, 0}}, {{5, 5}, {-1, -1}}, {{5, 7}, {-1, 0}}};
    EXPECT_EQ(got, want);
}

TEST(Cohort, LastPaymentLeavingEndsTheCustomer) {
    const auto ch = cohort_change({{4}, 1, 1}, 4, -1);
    EXPECT_EQ(ch.in_month, 0);
    ASSERT_EQ(ch.cells.size(), 1u);
    EXPECT_EQ(ch.cells[0].customers, -1);
}

TEST(Cohort, RejectsWhatTheTablesCannotHold) {
    EXPECT_THROW(cohort_change({}, 4, -1), std::domain_error);
    EXPECT_THROW(cohort_change({{4}, 1, 1}, 4, 2), std::domain_error);
}

TEST(Cohort, CellsAreOrderedAndNonZero) {
    const auto ch = cohort_change({{2, 6, 9}, 3, 0}, 1, +1);
    for (size_t i = 0; i < ch.cells.size(); i++) {
        EXPECT_TRUE(ch.cells[i].customers != 0 || ch.cells[i].repeaters != 0);
        if (i > 0)
            EXPECT_LT(std::make_pair(ch.cells[i - 1].cohort_month, ch.cells[i - 1].month),
                      std::make_pair(ch.cells[i].cohort_month, ch.cells[i].month));
    }
}

// Random payments arriving and leaving for a few customers over a few months: the incremental
// cells always equal the definition applied from scratch.
TEST(CohortRandom, IncrementalEqualsFromScratch) {
    std::mt19937 rng(424242);
    int moved_cohort = 0, unchanged = 0;
    for (int run = 0; run < 300; run++) {
        Payments p;
        Cells cells;
        for (int step = 0; step < 40; step++) {
            const int customer = std::uniform_int_distribution<int>(0, 3)(rng);
            const int32_t month = std::uniform_int_distribution<int32_t>(0, 5)(rng);
            int64_t &n = p[customer][month];
            // Only payments that exist can leave.
            const int delta = (n > 0 && std::uniform_int_distribution<int>(0, 2)(rng) == 0) ? -1 : +1;
            const CustomerMonths b = before_of(p, customer, month);
            const auto ch = cohort_change(b, month, delta);
            n += delta;
            ASSERT_EQ(ch.in_month, n);
            const CustomerMonths a = before_of(p, customer, month);
            moved_cohort += !b.months.empty() && !a.months.empty() && b.months.front() != a.months.front();
            unchanged += ch.cells.empty();
            add_cells(cells, ch.cells);
            ASSERT_EQ(cells, from_scratch(p)) << "run " << run << " step " << step;
        }
    }
    EXPECT_GT(moved_cohort, 100);  // the interesting paths are reached
    EXPECT_GT(unchanged, 1000);
}

// The harness tells wrong cells from right ones.
TEST(CohortRandom, HarnessDetectsAWrongCell) {
    Payments p;
    Cells cells;
    p[1][3] = 1;
    add_cells(cells, cohort_change({}, 3, +1).cells);
    ASSERT_EQ(cells, from_scratch(p));
    auto ch = cohort_change(before_of(p, 1, 3), 3, +1);
    p[1][3] = 2;
    ASSERT_FALSE(ch.cells.empty());
    ch.cells[0].repeaters = 0;
    add_cells(cells, ch.cells);
    EXPECT_NE(cells, from_scratch(p));
}

}  // namespace
