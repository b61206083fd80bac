// Charge contributions to the aggregates; see charge_deltas.hpp. Mirrors, row for row, the SQL
// reading of SPEC §3 in stripe._aggregate_all() (src/sql/25_aggregates.sql), NULLs included:
// a NULL status counts nowhere, rows without a currency (or created) are not in payments_*.
#include "charge_deltas.hpp"

#include <algorithm>
#include <tuple>

namespace pgstripe {
namespace {

struct Contribution {
    int64_t succeeded = 0, failed = 0, gross = 0;
};

Contribution contribution_of(const ChargeFacts &c, int sign) {
    Contribution r;
    if (c.status == "succeeded") {
        r.succeeded = sign;
        r.gross = sign * c.amount_captured.value_or(0);
    } else if (c.status == "failed") {
        r.failed = sign;
    }
    return r;
}

// Adds `d` to the row of `v` with the same key (as told by `same`), or appends it.
template <class T, class Same, class Add>
void merge(std::vector<T> &v, T d, Same same, Add add) {
    for (T &x : v)
        if (same(x, d)) {
            add(x, d);
            return;
        }
    v.push_back(std::move(d));
}

}  // namespace

ChargeDeltas charge_deltas(const ChargeFacts *old, const ChargeFacts &now) {
    ChargeDeltas out;
    struct Signed {
        const ChargeFacts *c;
        int sign;
    };
    std::vector<Signed> states;
    if (old) states.push_back({old, -1});
    states.push_back({&now, 1});

    for (const Signed &s : states) {
        const ChargeFacts &c = *s.c;
        Contribution k = contribution_of(c, s.sign);
        if (k.succeeded == 0 && k.failed == 0) continue;  // (gross is 0 unless succeeded)
        if (c.created && c.currency)
            merge(out.payments, PaymentsDelta{c.account, c.livemode, *c.created, *c.currency, k.succeeded, k.failed, k.gross},
                  [](const PaymentsDelta &a, const PaymentsDelta &b) {
                      // Same created, not merely the same bucket: the bucket is computed in SQL.
                      // Two rows of one bucket still add up right, in two upserts.
                      return a.account == b.account && a.livemode == b.livemode && a.created == b.created &&
                             a.currency == b.currency;
                  },
                  [](PaymentsDelta &a, const PaymentsDelta &b) {
                      a.succeeded += b.succeeded, a.failed += b.failed, a.gross += b.gross;
                  });
        if (k.failed != 0)
            merge(out.declines, DeclinesDelta{c.account, c.livemode, c.failure_code, c.outcome_reason, k.failed},
                  [](const DeclinesDelta &a, const DeclinesDelta &b) {
                      return a.account == b.account && a.livemode == b.livemode && a.failure_code == b.failure_code &&
                             a.outcome_reason == b.outcome_reason;
                  },
                  [](DeclinesDelta &a, const DeclinesDelta &b) { a.failed += b.failed; });
        if (k.succeeded != 0 && c.currency)
            merge(out.methods,
                  MethodsDelta{c.account, c.livemode, *c.currency, c.payment_method_type, c.card_brand, k.succeeded, k.gross},
                  [](const MethodsDelta &a, const MethodsDelta &b) {
                      return a.account == b.account && a.livemode == b.livemode && a.currency == b.currency &&
                             a.payment_method_type == b.payment_method_type && a.card_brand == b.card_brand;
                  },
                  [](MethodsDelta &a, const MethodsDelta &b) { a.succeeded += b.succeeded, a.gross += b.gross; });
        if (c.customer && c.currency) {
            std::optional<int64_t> paid_at;
            if (k.succeeded > 0) paid_at = c.created;
            merge(out.customers,
                  CustomerDelta{c.account, c.livemode, *c.customer, *c.currency, k.succeeded, k.failed, k.gross, paid_at},
                  [](const CustomerDelta &a, const CustomerDelta &b) {
                      return a.account == b.account && a.livemode == b.livemode && a.customer == b.customer &&
                             a.currency == b.currency;
                  },
                  [](CustomerDelta &a, const CustomerDelta &b) {
                      a.payments += b.payments, a.failed += b.failed, a.spent += b.spent;
                      if (b.paid_at) a.paid_at = b.paid_at;  // only the new state has one
                  });
        }
    }

    // A row whose deltas cancel changes nothing: leave it out (it could otherwise create an
    // all-zero aggregate row the bulk definition does not have).
    auto erase_if = [](auto &v, auto zero) { v.erase(std::remove_if(v.begin(), v.end(), zero), v.end()); };
    erase_if(out.payments, [](const PaymentsDelta &d) { return d.succeeded == 0 && d.failed == 0 && d.gross == 0; });
    erase_if(out.declines, [](const DeclinesDelta &d) { return d.failed == 0; });
    erase_if(out.methods, [](const MethodsDelta &d) { return d.succeeded == 0 && d.gross == 0; });
    erase_if(out.customers, [](const CustomerDelta &d) { return d.payments == 0 && d.failed == 0 && d.spent == 0; });
    std::sort(out.customers.begin(), out.customers.end(), [](const CustomerDelta &a, const CustomerDelta &b) {
        return std::tie(a.account, a.livemode, a.customer, a.currency) < std::tie(b.account, b.livemode, b.customer, b.currency);
    });

    // first/last payment: a succeeded payment that left its customer/currency or moved in time.
    if (old && old->status == "succeeded" && old->customer && old->currency) {
        bool left = now.status != "succeeded" || now.account != old->account || now.livemode != old->livemode ||
                    now.customer != old->customer || now.currency != old->currency || now.created != old->created;
        if (left) out.recompute_span = ChargeDeltas::SpanKey{old->account, old->livemode, *old->customer, *old->currency};
    }

    // cohort_retention counts a customer's succeeded payments of any currency by month of created.
    auto paid = [](const ChargeFacts *c, int delta) -> std::optional<CohortDelta> {
        if (c == nullptr || c->status != "succeeded" || !c->customer || !c->created) return std::nullopt;
        return CohortDelta{c->account, c->livemode, *c->customer, *c->created, delta};
    };
    auto gone = paid(old, -1), came = paid(&now, +1);
    bool same = gone && came && gone->account == came->account && gone->livemode == came->livemode &&
                gone->customer == came->customer && gone->created == came->created;
    if (!same) {
        if (gone) out.cohort.push_back(*gone);
        if (came) out.cohort.push_back(*came);
        std::sort(out.cohort.begin(), out.cohort.end(), [](const CohortDelta &a, const CohortDelta &b) {
            return std::tie(a.account, a.livemode, a.customer, a.delta) < std::tie(b.account, b.livemode, b.customer, b.delta);
        });
    }
    return out;
}

}  // namespace pgstripe
