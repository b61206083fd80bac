// What one succeeded payment arriving at (or leaving) a customer does to cohort_retention (SPEC
// §3), in pure C++ (no postgres.h).
//
// A customer counts in the cohort of the month of their first succeeded payment (any currency):
// in the cell (cohort, month) of every month they paid in -- the cell of the cohort's own month
// is the cohort size -- and, on that same cell, as a repeat customer once they have two or more
// payments in total. The tables keep every customer's payments per month (stripe.customer_months)
// and the cells summed over customers (stripe.agg_cohorts). A payment moves one customer from what
// they counted in before to what they count in after: usually one cell or none, all of them when
// the cohort itself moves (a payment earlier than the first, or the first one leaving).
//
// Months are opaque integers here (the caller's date representation); only their order matters.
#pragma once
#include "cpp_only.hpp"

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace pgstripe {

struct CohortCell {
    int32_t cohort_month, month;
    int64_t customers;  // customers of the cohort with a payment in month
    int64_t repeaters;  // customers of the cohort with >= 2 payments (on the cohort's own month)
};

struct CustomerMonths {       // one customer, before the change
    std::vector<int32_t> months;  // months with >= 1 payment, ascending, distinct
    int64_t total = 0;            // payments in all months
    int64_t in_month = 0;         // payments in the month of the change
};

struct CohortChange {
    int64_t in_month = 0;          // the customer's payments in that month after the change (0: no row)
    std::vector<CohortCell> cells; // deltas, non-zero only, in (cohort_month, month) order
};

// The payment is in `month`; delta is +1 (it arrives) or -1 (it leaves). Throws
// std::domain_error when a payment would leave a month without one (tables out of step).
CohortChange cohort_change(const CustomerMonths &before, int32_t month, int delta);

}  // namespace pgstripe
