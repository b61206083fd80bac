// What one change of a charge does to the aggregates (SPEC §3), in pure C++ (no postgres.h).
//
// A charge state contributes to four aggregates: payments_* (succeeded, failed, captured volume,
// by the charge's created), decline_reasons (failed), payment_method_mix (succeeded) and
// customer_totals. When a delivery replaces a charge's state, the aggregates move by
// contribution(new) - contribution(old). Computing that here, instead of in one SQL statement with
// a data-modifying CTE per aggregate, lets the Postgres layer run only the small upserts whose
// delta is not zero: executor start-up of the all-in-one statement was about half the cost of
// ingesting a charge event (see BENCHMARKS.md).
//
// The independent definition of the same figures is stripe._aggregate_all() (SQL, bulk, used by
// stripe.rebuild()); the tests compare the two.
#pragma once
#include "cpp_only.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgstripe {

using OptText = std::optional<std::string>;

// The columns of stripe.charges the aggregates read. `created` is opaque here (the caller's
// timestamp representation): it is only compared for equality and handed back.
struct ChargeFacts {
    OptText account;
    bool livemode = false;
    std::optional<int64_t> created;
    OptText status, currency, customer, failure_code, outcome_reason, payment_method_type, card_brand;
    std::optional<int64_t> amount_captured;
};

struct PaymentsDelta {   // stripe.agg_payments, bucket = the quarter-hour of created
    OptText account;
    bool livemode;
    int64_t created;
    std::string currency;
    int64_t succeeded, failed, gross;
};
struct DeclinesDelta {   // stripe.agg_declines
    OptText account;
    bool livemode;
    OptText failure_code, outcome_reason;
    int64_t failed;
};
struct MethodsDelta {    // stripe.agg_methods
    OptText account;
    bool livemode;
    std::string currency;
    OptText payment_method_type, card_brand;
    int64_t succeeded, gross;
};
struct CustomerDelta {   // stripe.customer_totals
    OptText account;
    bool livemode;
    std::string customer, currency;
    int64_t payments, failed, spent;
    std::optional<int64_t> paid_at;  // created of a succeeded payment added (first/last payment)
};

struct CohortDelta {     // stripe.customer_months / agg_cohorts: one succeeded payment of a customer
    OptText account;
    bool livemode;
    std::string customer;
    int64_t created;
    int delta;           // -1: the payment left (old state), +1: it arrived (new state)
};

struct ChargeDeltas {
    // Rows with a non-zero delta only; rows of one key merged. Customer rows in key order (the
    // table is shared by every session: a fixed order means two changes never deadlock).
    std::vector<PaymentsDelta> payments;
    std::vector<DeclinesDelta> declines;
    std::vector<MethodsDelta> methods;
    std::vector<CustomerDelta> customers;
    // A succeeded payment left this customer/currency, or its created moved: first/last payment
    // cannot be adjusted by a delta and must be recomputed (rare: succeeded is terminal).
    struct SpanKey {
        OptText account;
        bool livemode;
        std::string customer, currency;
    };
    std::optional<SpanKey> recompute_span;
    // cohort_retention: the succeeded payment (any currency) this change takes from a customer
    // and/or gives to one; nothing when both states are the same payment. In key order.
    std::vector<CohortDelta> cohort;
    bool empty() const {
        return payments.empty() && declines.empty() && methods.empty() && customers.empty() && cohort.empty();
    }
};

// old = nullptr: the charge was unknown. Call only when the new state was applied.
ChargeDeltas charge_deltas(const ChargeFacts *old, const ChargeFacts &now);

}  // namespace pgstripe
