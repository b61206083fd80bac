// Unit tests of the charge aggregate deltas (src/core/charge_deltas.cpp).
//
// The expected figures do not come from charge_deltas: this file carries its own tiny reading of
// the bulk definition, stripe._aggregate_all() (src/sql/25_aggregates.sql), restricted to the
// charge columns: `aggregate(set of charges)`. The central property is
//
//     apply(charge_deltas(old, new), aggregate(others + old)) == aggregate(others + new)
//
// where `apply` does what the SQL layer does with the deltas (stripe._add_payments, _add_declines,
// _add_methods, _add_customer with least/greatest on the first/last payment, then
// stripe._recompute_customer_span for recompute_span, in that order, as src/pg/ingest.cpp runs
// them), and where rows that are all zero are ignored (the bulk definition drops them with HAVING;
// the incremental tables may keep them).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "charge_deltas.hpp"

using pgstripe::ChargeDeltas;
using pgstripe::ChargeFacts;
using pgstripe::OptText;

namespace {

using OptTime = std::optional<int64_t>;

// ---------------------------------------------------------------------------------------------
// Reference: the charge part of stripe._aggregate_all(), read straight from the SQL.
// ---------------------------------------------------------------------------------------------

using PayKey = std::tuple<OptText, bool, int64_t, std::string>;            // account, livemode, created, currency
using DeclKey = std::tuple<OptText, bool, OptText, OptText>;               // account, livemode, failure_code, outcome_reason
using MethKey = std::tuple<OptText, bool, std::string, OptText, OptText>;  // account, livemode, currency, type, brand
using CustKey = std::tuple<OptText, bool, std::string, std::string>;       // account, livemode, customer, currency
using PaidKey = std::tuple<OptText, bool, std::string, int64_t>;           // account, livemode, customer, created

struct PayRow {
    int64_t succeeded = 0, failed = 0, gross = 0;
    bool operator==(const PayRow &o) const { return std::tie(succeeded, failed, gross) == std::tie(o.succeeded, o.failed, o.gross); }
    bool zero() const { return succeeded == 0 && failed == 0 && gross == 0; }
};
struct MethRow {
    int64_t succeeded = 0, gross = 0;
    bool operator==(const MethRow &o) const { return std::tie(succeeded, gross) == std::tie(o.succeeded, o.gross); }
    bool zero() const { return succeeded == 0 && gross == 0; }
};
struct CustRow {
    int64_t payments = 0, failed = 0, spent = 0;
    OptTime first, last;
    bool operator==(const CustRow &o) const {
        return std::tie(payments, failed, spent, first, last) == std::tie(o.payments, o.failed, o.spent, o.first, o.last);
    }
    bool zero() const { return payments == 0 && failed == 0 && spent == 0; }
};

struct Agg {
    std::map<PayKey, PayRow> payments;
    std::map<DeclKey, int64_t> declines;
    std::map<MethKey, MethRow> methods;
    std::map<CustKey, CustRow> customers;
    // cohort_retention's input (stripe.customer_months before the month is taken): succeeded
    // payments with a customer and a created, any currency, counted per customer and instant.
    std::map<PaidKey, int64_t> paid;
    bool operator==(const Agg &o) const {
        return payments == o.payments && declines == o.declines && methods == o.methods && customers == o.customers &&
               paid == o.paid;
    }
};

// SQL's `min`/`max` (and `least`/`greatest`): NULLs are ignored.
OptTime sql_min(OptTime a, OptTime b) { return !a ? b : !b ? a : OptTime(std::min(*a, *b)); }
OptTime sql_max(OptTime a, OptTime b) { return !a ? b : !b ? a : OptTime(std::max(*a, *b)); }

bool is(const OptText &t, const char *s) { return t && *t == s; }  // SQL `t = s`, NULL counted as false

Agg aggregate(const std::vector<ChargeFacts> &charges) {
    Agg a;
    for (const ChargeFacts &c : charges) {
        const bool succeeded = is(c.status, "succeeded"), failed = is(c.status, "failed");
        const int64_t gross = succeeded ? c.amount_captured.value_or(0) : 0;
        // agg_payments: WHERE created IS NOT NULL AND currency IS NOT NULL
        if (c.created && c.currency) {
            PayRow &r = a.payments[{c.account, c.livemode, *c.created, *c.currency}];
            r.succeeded += succeeded, r.failed += failed, r.gross += gross;
        }
        // agg_declines: WHERE status = 'failed'
        if (failed) a.declines[{c.account, c.livemode, c.failure_code, c.outcome_reason}] += 1;
        // agg_methods: WHERE status = 'succeeded' AND currency IS NOT NULL
        if (succeeded && c.currency) {
            MethRow &r = a.methods[{c.account, c.livemode, *c.currency, c.payment_method_type, c.card_brand}];
            r.succeeded += 1, r.gross += gross;
        }
        // customer_totals: WHERE customer IS NOT NULL AND currency IS NOT NULL
        if (c.customer && c.currency) {
            CustRow &r = a.customers[{c.account, c.livemode, *c.customer, *c.currency}];
            r.payments += succeeded, r.failed += failed, r.spent += gross;
            if (succeeded) r.first = sql_min(r.first, c.created), r.last = sql_max(r.last, c.created);
        }
        // customer_months: WHERE status = 'succeeded' AND customer IS NOT NULL AND created IS NOT NULL
        if (succeeded && c.customer && c.created) a.paid[{c.account, c.livemode, *c.customer, *c.created}] += 1;
    }
    // HAVING (...) <> (0, ...): all-zero groups are not rows.
    for (auto it = a.payments.begin(); it != a.payments.end();) it = it->second.zero() ? a.payments.erase(it) : std::next(it);
    for (auto it = a.customers.begin(); it != a.customers.end();) it = it->second.zero() ? a.customers.erase(it) : std::next(it);
    return a;
}

// What the SQL layer does with the deltas (src/pg/ingest.cpp charge_aggregates), on tables that
// already hold the new state of the charge (`charges_now`, read by the span recomputation).
void apply(Agg &t, const ChargeDeltas &d, const std::vector<ChargeFacts> &charges_now) {
    for (const auto &x : d.payments) {
        PayRow &r = t.payments[{x.account, x.livemode, x.created, x.currency}];
        r.succeeded += x.succeeded, r.failed += x.failed, r.gross += x.gross;
    }
    for (const auto &x : d.declines) t.declines[{x.account, x.livemode, x.failure_code, x.outcome_reason}] += x.failed;
    for (const auto &x : d.methods) {
        MethRow &r = t.methods[{x.account, x.livemode, x.currency, x.payment_method_type, x.card_brand}];
        r.succeeded += x.succeeded, r.gross += x.gross;
    }
    for (const auto &x : d.customers) {
        CustKey k{x.account, x.livemode, x.customer, x.currency};
        auto it = t.customers.find(k);
        if (it == t.customers.end()) {  // INSERT ... VALUES (..., $8, $8)
            t.customers[k] = CustRow{x.payments, x.failed, x.spent, x.paid_at, x.paid_at};
        } else {  // ON CONFLICT DO UPDATE: sums, least/greatest
            CustRow &r = it->second;
            r.payments += x.payments, r.failed += x.failed, r.spent += x.spent;
            r.first = sql_min(r.first, x.paid_at), r.last = sql_max(r.last, x.paid_at);
        }
    }
    for (const auto &x : d.cohort) {  // cohort_payment (src/pg/ingest.cpp)
        EXPECT_TRUE(x.delta == 1 || x.delta == -1) << "a cohort delta is one payment";
        t.paid[{x.account, x.livemode, x.customer, x.created}] += x.delta;
    }
    if (d.recompute_span) {  // stripe._recompute_customer_span: an UPDATE, no row is created
        const auto &s = *d.recompute_span;
        auto it = t.customers.find({s.account, s.livemode, s.customer, s.currency});
        if (it != t.customers.end()) {
            OptTime first, last;
            for (const ChargeFacts &c : charges_now)
                if (c.customer == s.customer && c.account == s.account && c.livemode == s.livemode &&
                    c.currency == s.currency && is(c.status, "succeeded"))
                    first = sql_min(first, c.created), last = sql_max(last, c.created);
            it->second.first = first, it->second.last = last;
        }
    }
}

// Drops the all-zero rows the incremental tables may keep. An all-zero customer row must not keep
// a first/last payment either (it has no succeeded payment).
Agg normalized(Agg t) {
    for (auto it = t.payments.begin(); it != t.payments.end();) it = it->second.zero() ? t.payments.erase(it) : std::next(it);
    for (auto it = t.declines.begin(); it != t.declines.end();) it = it->second == 0 ? t.declines.erase(it) : std::next(it);
    for (auto it = t.methods.begin(); it != t.methods.end();) it = it->second.zero() ? t.methods.erase(it) : std::next(it);
    for (auto it = t.paid.begin(); it != t.paid.end();) {
        EXPECT_GE(it->second, 0) << "a customer would have a negative number of payments";
        it = it->second == 0 ? t.paid.erase(it) : std::next(it);
    }
    for (auto it = t.customers.begin(); it != t.customers.end();) {
        if (it->second.zero()) {
            EXPECT_FALSE(it->second.first || it->second.last) << "an all-zero customer row keeps a first/last payment";
            it = t.customers.erase(it);
        } else {
            ++it;
        }
    }
    return t;
}

// ---------------------------------------------------------------------------------------------
// Printing (failure messages).
// ---------------------------------------------------------------------------------------------

std::string s(const OptText &t) { return t ? '"' + *t + '"' : "NULL"; }
std::string s(const OptTime &t) { return t ? std::to_string(*t) : "NULL"; }

std::string describe(const ChargeFacts &c) {
    std::ostringstream o;
    o << "{account=" << s(c.account) << " livemode=" << c.livemode << " created=" << s(c.created)
      << " status=" << s(c.status) << " currency=" << s(c.currency) << " customer=" << s(c.customer)
      << " failure_code=" << s(c.failure_code) << " outcome_reason=" << s(c.outcome_reason)
      << " pm_type=" << s(c.payment_method_type) << " brand=" << s(c.card_brand)
      << " amount_captured=" << s(c.amount_captured) << "}";
    return o.str();
}
std::string describe(const ChargeFacts *c) { return c ? describe(*c) : "(none)"; }

std::string describe(const Agg &a) {
    std::ostringstream o;
    for (const auto &[k, v] : a.payments)
        o << "  payments " << s(std::get<0>(k)) << ' ' << std::get<1>(k) << ' ' << std::get<2>(k) << ' ' << std::get<3>(k)
          << " -> " << v.succeeded << '/' << v.failed << '/' << v.gross << '\n';
    for (const auto &[k, v] : a.declines)
        o << "  declines " << s(std::get<0>(k)) << ' ' << std::get<1>(k) << ' ' << s(std::get<2>(k)) << ' '
          << s(std::get<3>(k)) << " -> " << v << '\n';
    for (const auto &[k, v] : a.methods)
        o << "  methods " << s(std::get<0>(k)) << ' ' << std::get<1>(k) << ' ' << std::get<2>(k) << ' '
          << s(std::get<3>(k)) << ' ' << s(std::get<4>(k)) << " -> " << v.succeeded << '/' << v.gross << '\n';
    for (const auto &[k, v] : a.customers)
        o << "  customers " << s(std::get<0>(k)) << ' ' << std::get<1>(k) << ' ' << std::get<2>(k) << ' '
          << std::get<3>(k) << " -> " << v.payments << '/' << v.failed << '/' << v.spent << " first=" << s(v.first)
          << " last=" << s(v.last) << '\n';
    for (const auto &[k, v] : a.paid)
        o << "  paid " << s(std::get<0>(k)) << ' ' << std::get<1>(k) << ' ' << std::get<2>(k) << ' ' << std::get<3>(k)
          << " -> " << v << '\n';
    return o.str();
}

std::string describe(const ChargeDeltas &d) {
    std::ostringstream o;
    for (const auto &x : d.payments)
        o << "  payments " << s(x.account) << ' ' << x.livemode << ' ' << x.created << ' ' << x.currency << " += "
          << x.succeeded << '/' << x.failed << '/' << x.gross << '\n';
    for (const auto &x : d.declines)
        o << "  declines " << s(x.account) << ' ' << x.livemode << ' ' << s(x.failure_code) << ' ' << s(x.outcome_reason)
          << " += " << x.failed << '\n';
    for (const auto &x : d.methods)
        o << "  methods " << s(x.account) << ' ' << x.livemode << ' ' << x.currency << ' ' << s(x.payment_method_type)
          << ' ' << s(x.card_brand) << " += " << x.succeeded << '/' << x.gross << '\n';
    for (const auto &x : d.customers)
        o << "  customers " << s(x.account) << ' ' << x.livemode << ' ' << x.customer << ' ' << x.currency << " += "
          << x.payments << '/' << x.failed << '/' << x.spent << " paid_at=" << s(x.paid_at) << '\n';
    if (d.recompute_span)
        o << "  recompute_span " << s(d.recompute_span->account) << ' ' << d.recompute_span->livemode << ' '
          << d.recompute_span->customer << ' ' << d.recompute_span->currency << '\n';
    for (const auto &x : d.cohort)
        o << "  cohort " << s(x.account) << ' ' << x.livemode << ' ' << x.customer << ' ' << x.created << " += " << x.delta
          << '\n';
    return o.str();
}

// ---------------------------------------------------------------------------------------------
// The properties.
// ---------------------------------------------------------------------------------------------

// Structural properties of one result: no all-zero row, one row per key, customers in key order,
// paid_at only from a succeeded new state, recompute_span only for the old state's key.
void check_shape(const ChargeFacts *old, const ChargeFacts &now, const ChargeDeltas &d, const std::string &ctx) {
    std::set<PayKey> pk;
    for (const auto &x : d.payments) {
        EXPECT_FALSE(x.succeeded == 0 && x.failed == 0 && x.gross == 0) << "all-zero payments delta" << ctx;
        EXPECT_TRUE(pk.insert({x.account, x.livemode, x.created, x.currency}).second) << "payments key twice" << ctx;
    }
    std::set<DeclKey> dk;
    for (const auto &x : d.declines) {
        EXPECT_NE(x.failed, 0) << "all-zero declines delta" << ctx;
        EXPECT_TRUE(dk.insert({x.account, x.livemode, x.failure_code, x.outcome_reason}).second) << "declines key twice" << ctx;
    }
    std::set<MethKey> mk;
    for (const auto &x : d.methods) {
        EXPECT_FALSE(x.succeeded == 0 && x.gross == 0) << "all-zero methods delta" << ctx;
        EXPECT_TRUE(mk.insert({x.account, x.livemode, x.currency, x.payment_method_type, x.card_brand}).second)
            << "methods key twice" << ctx;
    }
    for (size_t i = 0; i < d.customers.size(); i++) {
        const auto &x = d.customers[i];
        EXPECT_FALSE(x.payments == 0 && x.failed == 0 && x.spent == 0) << "all-zero customers delta" << ctx;
        if (i > 0) {
            const auto &p = d.customers[i - 1];
            EXPECT_TRUE(std::tie(p.account, p.livemode, p.customer, p.currency) <
                        std::tie(x.account, x.livemode, x.customer, x.currency))
                << "customers not in strict key order" << ctx;
        }
        if (x.paid_at) {
            // Only the created of the new state, succeeded, under this very key.
            EXPECT_TRUE(is(now.status, "succeeded") && now.customer && *now.customer == x.customer && now.currency &&
                        *now.currency == x.currency && now.account == x.account && now.livemode == x.livemode &&
                        now.created == x.paid_at)
                << "paid_at not the new succeeded payment's created" << ctx;
        }
    }
    EXPECT_EQ(d.empty(), d.payments.empty() && d.declines.empty() && d.methods.empty() && d.customers.empty() &&
                             d.cohort.empty())
        << ctx;
    // Cohort: at most the old payment out and the new one in, never the same payment both ways,
    // in key order (customers are locked in that order).
    EXPECT_LE(d.cohort.size(), 2u) << ctx;
    for (size_t i = 0; i < d.cohort.size(); i++) {
        const auto &x = d.cohort[i];
        const ChargeFacts *src = x.delta < 0 ? old : &now;
        ASSERT_NE(src, nullptr) << "a cohort payment out without an old state" << ctx;
        EXPECT_TRUE(is(src->status, "succeeded") && src->customer == x.customer && src->created == x.created &&
                    src->account == x.account && src->livemode == x.livemode)
            << "cohort delta not the state's own payment" << ctx;
        if (i > 0) {
            const auto &p = d.cohort[i - 1];
            EXPECT_TRUE(std::tie(p.account, p.livemode, p.customer) <= std::tie(x.account, x.livemode, x.customer))
                << "cohort deltas not in key order" << ctx;
            EXPECT_FALSE(p.account == x.account && p.livemode == x.livemode && p.customer == x.customer &&
                         p.created == x.created)
                << "the same payment out and in" << ctx;
        }
    }
    if (d.recompute_span) {
        ASSERT_NE(old, nullptr) << "recompute_span without an old state" << ctx;
        EXPECT_TRUE(is(old->status, "succeeded")) << "recompute_span for an old state not succeeded" << ctx;
        EXPECT_EQ(d.recompute_span->account, old->account) << ctx;
        EXPECT_EQ(d.recompute_span->livemode, old->livemode) << ctx;
        EXPECT_TRUE(old->customer && d.recompute_span->customer == *old->customer) << ctx;
        EXPECT_TRUE(old->currency && d.recompute_span->currency == *old->currency) << ctx;
    }
}

// The central property, for the change old -> now of one charge among `others`.
void check_against_bulk(const std::vector<ChargeFacts> &others, const ChargeFacts *old, const ChargeFacts &now,
                        const std::string &label = "") {
    std::vector<ChargeFacts> before = others, after = others;
    if (old) before.push_back(*old);
    after.push_back(now);
    const ChargeDeltas d = charge_deltas(old, now);
    std::ostringstream ctx;
    ctx << "\n" << label << "\nold: " << describe(old) << "\nnew: " << describe(now) << "\nothers: " << others.size()
        << "\ndeltas:\n"
        << describe(d);
    for (const auto &c : others) ctx << "other: " << describe(c) << '\n';
    check_shape(old, now, d, ctx.str());

    Agg t = aggregate(before);
    apply(t, d, after);
    const Agg got = normalized(t), want = aggregate(after);
    EXPECT_TRUE(got == want) << "incremental != bulk" << ctx.str() << "before:\n"
                             << describe(aggregate(before)) << "got:\n"
                             << describe(got) << "want:\n"
                             << describe(want);
}

// ---------------------------------------------------------------------------------------------
// Hand-written cases.
// ---------------------------------------------------------------------------------------------

ChargeFacts succeeded(int64_t amount = 1000) {
    ChargeFacts c;
    c.account = "acct_1";
    c.livemode = false;
    c.created = 100;
    c.status = "succeeded";
    c.currency = "usd";
    c.customer = "cus_a";
    c.payment_method_type = "card";
    c.card_brand = "visa";
    c.amount_captured = amount;
    return c;
}
ChargeFacts with_status(ChargeFacts c, OptText status) {
    c.status = std::move(status);
    return c;
}

// A few other charges around, so the property is checked on non-empty aggregates too.
std::vector<ChargeFacts> neighbours() {
    ChargeFacts a = succeeded(700);  // same customer, earlier
    a.created = 50;
    ChargeFacts b = succeeded(300);  // other customer
    b.customer = "cus_b";
    ChargeFacts f = with_status(succeeded(0), "failed");
    f.failure_code = "card_declined";
    f.amount_captured = std::nullopt;
    return {a, b, f};
}

void check_both(const ChargeFacts *old, const ChargeFacts &now, const std::string &label) {
    check_against_bulk({}, old, now, label + " (alone)");
    check_against_bulk(neighbours(), old, now, label + " (with neighbours)");
}

TEST(ChargeDeltas, NewSucceededCharge) {
    const ChargeFacts now = succeeded(1000);
    const ChargeDeltas d = charge_deltas(nullptr, now);
    ASSERT_EQ(d.payments.size(), 1u);
    EXPECT_EQ(d.payments[0].account, OptText("acct_1"));
    EXPECT_FALSE(d.payments[0].livemode);
    EXPECT_EQ(d.payments[0].created, 100);
    EXPECT_EQ(d.payments[0].currency, "usd");
    EXPECT_EQ(d.payments[0].succeeded, 1);
    EXPECT_EQ(d.payments[0].failed, 0);
    EXPECT_EQ(d.payments[0].gross, 1000);
    EXPECT_TRUE(d.declines.empty());
    ASSERT_EQ(d.methods.size(), 1u);
    EXPECT_EQ(d.methods[0].currency, "usd");
    EXPECT_EQ(d.methods[0].payment_method_type, OptText("card"));
    EXPECT_EQ(d.methods[0].card_brand, OptText("visa"));
    EXPECT_EQ(d.methods[0].succeeded, 1);
    EXPECT_EQ(d.methods[0].gross, 1000);
    ASSERT_EQ(d.customers.size(), 1u);
    EXPECT_EQ(d.customers[0].customer, "cus_a");
    EXPECT_EQ(d.customers[0].currency, "usd");
    EXPECT_EQ(d.customers[0].payments, 1);
    EXPECT_EQ(d.customers[0].failed, 0);
    EXPECT_EQ(d.customers[0].spent, 1000);
    EXPECT_EQ(d.customers[0].paid_at, OptTime(100));
    EXPECT_FALSE(d.recompute_span);
    check_both(nullptr, now, "new succeeded");
}

TEST(ChargeDeltas, NewSucceededWithoutAmountCountsZeroGross) {
    ChargeFacts now = succeeded();
    now.amount_captured = std::nullopt;  // coalesce(amount_captured, 0)
    const ChargeDeltas d = charge_deltas(nullptr, now);
    ASSERT_EQ(d.payments.size(), 1u);
    EXPECT_EQ(d.payments[0].succeeded, 1);
    EXPECT_EQ(d.payments[0].gross, 0);
    ASSERT_EQ(d.methods.size(), 1u);
    EXPECT_EQ(d.methods[0].gross, 0);
    check_both(nullptr, now, "new succeeded, amount_captured NULL");
}

TEST(ChargeDeltas, PendingToSucceeded) {
    const ChargeFacts old = with_status(succeeded(0), "pending"), now = succeeded(1000);
    const ChargeDeltas d = charge_deltas(&old, now);
    ASSERT_EQ(d.payments.size(), 1u);
    EXPECT_EQ(d.payments[0].succeeded, 1);
    EXPECT_EQ(d.payments[0].failed, 0);
    EXPECT_EQ(d.payments[0].gross, 1000);
    EXPECT_TRUE(d.declines.empty());
    ASSERT_EQ(d.methods.size(), 1u);
    EXPECT_EQ(d.methods[0].succeeded, 1);
    ASSERT_EQ(d.customers.size(), 1u);
    EXPECT_EQ(d.customers[0].payments, 1);
    EXPECT_EQ(d.customers[0].spent, 1000);
    EXPECT_EQ(d.customers[0].paid_at, OptTime(100));
    EXPECT_FALSE(d.recompute_span);
    check_both(&old, now, "pending -> succeeded");
}

TEST(ChargeDeltas, NewPendingChangesNothing) {
    const ChargeFacts now = with_status(succeeded(), "pending");
    const ChargeDeltas d = charge_deltas(nullptr, now);
    EXPECT_TRUE(d.empty()) << describe(d);
    EXPECT_FALSE(d.recompute_span);
    check_both(nullptr, now, "new pending");
}

TEST(ChargeDeltas, SucceededToSucceededIrrelevantChangeGivesNoDelta) {
    // amount_refunded, refunded, disputed, data... are not facts of the aggregates: the facts are
    // identical, so nothing moves (and first/last need no recomputation).
    const ChargeFacts old = succeeded(1000), now = succeeded(1000);
    const ChargeDeltas d = charge_deltas(&old, now);
    EXPECT_TRUE(d.empty()) << describe(d);
    EXPECT_TRUE(d.payments.empty() && d.declines.empty() && d.methods.empty() && d.customers.empty());
    EXPECT_FALSE(d.recompute_span);
    check_both(&old, now, "succeeded -> same succeeded");
}

TEST(ChargeDeltas, SameStateGivesNoDeltaWhateverTheStatus) {
    for (const char *st : {"succeeded", "failed", "pending"}) {
        ChargeFacts c = with_status(succeeded(), st);
        c.failure_code = "card_declined";
        const ChargeDeltas d = charge_deltas(&c, c);
        EXPECT_TRUE(d.empty()) << st << describe(d);
        EXPECT_FALSE(d.recompute_span) << st;
    }
    ChargeFacts n = with_status(succeeded(), std::nullopt);
    EXPECT_TRUE(charge_deltas(&n, n).empty());
}

TEST(ChargeDeltas, CaptureGivesOnlyAGrossDelta) {
    const ChargeFacts old = succeeded(0), now = succeeded(1000);
    const ChargeDeltas d = charge_deltas(&old, now);
    ASSERT_EQ(d.payments.size(), 1u) << describe(d);
    EXPECT_EQ(d.payments[0].succeeded, 0);
    EXPECT_EQ(d.payments[0].failed, 0);
    EXPECT_EQ(d.payments[0].gross, 1000);
    EXPECT_TRUE(d.declines.empty());
    ASSERT_EQ(d.methods.size(), 1u);
    EXPECT_EQ(d.methods[0].succeeded, 0);
    EXPECT_EQ(d.methods[0].gross, 1000);
    ASSERT_EQ(d.customers.size(), 1u);
    EXPECT_EQ(d.customers[0].payments, 0);
    EXPECT_EQ(d.customers[0].failed, 0);
    EXPECT_EQ(d.customers[0].spent, 1000);
    // No payment was added. charge_deltas hands back the (unchanged) created here, which is
    // harmless: least/greatest with a created already inside [first, last]. Either is correct.
    EXPECT_TRUE(!d.customers[0].paid_at || *d.customers[0].paid_at == 100) << describe(d);
    EXPECT_FALSE(d.recompute_span);
    check_both(&old, now, "capture 0 -> 1000");
}

TEST(ChargeDeltas, FailedChargeWithFailureCodeAndOutcomeReason) {
    ChargeFacts now = with_status(succeeded(0), "failed");
    now.amount_captured = 0;
    now.failure_code = "card_declined";
    now.outcome_reason = "highest_risk_level";
    const ChargeDeltas d = charge_deltas(nullptr, now);
    ASSERT_EQ(d.payments.size(), 1u);
    EXPECT_EQ(d.payments[0].succeeded, 0);
    EXPECT_EQ(d.payments[0].failed, 1);
    EXPECT_EQ(d.payments[0].gross, 0);
    ASSERT_EQ(d.declines.size(), 1u);
    EXPECT_EQ(d.declines[0].account, OptText("acct_1"));
    EXPECT_EQ(d.declines[0].failure_code, OptText("card_declined"));
    EXPECT_EQ(d.declines[0].outcome_reason, OptText("highest_risk_level"));
    EXPECT_EQ(d.declines[0].failed, 1);
    EXPECT_TRUE(d.methods.empty());
    ASSERT_EQ(d.customers.size(), 1u);
    EXPECT_EQ(d.customers[0].payments, 0);
    EXPECT_EQ(d.customers[0].failed, 1);
    EXPECT_EQ(d.customers[0].spent, 0);
    EXPECT_FALSE(d.customers[0].paid_at);
    EXPECT_FALSE(d.recompute_span);
    check_both(nullptr, now, "new failed");
}

TEST(ChargeDeltas, FailedChargeWithNullFailureCodeAndOutcomeReason) {
    for (int mask = 0; mask < 4; mask++) {
        ChargeFacts now = with_status(succeeded(500), "failed");  // amount_captured ignored: not succeeded
        if (mask & 1) now.failure_code = "card_declined";
        if (mask & 2) now.outcome_reason = "elevated_risk_level";
        const ChargeDeltas d = charge_deltas(nullptr, now);
        ASSERT_EQ(d.declines.size(), 1u) << mask;
        EXPECT_EQ(d.declines[0].failure_code, now.failure_code) << mask;
        EXPECT_EQ(d.declines[0].outcome_reason, now.outcome_reason) << mask;
        EXPECT_EQ(d.declines[0].failed, 1) << mask;
        ASSERT_EQ(d.payments.size(), 1u);
        EXPECT_EQ(d.payments[0].gross, 0) << "a failed charge has no gross volume";
        check_both(nullptr, now, "new failed, mask " + std::to_string(mask));
    }
}

TEST(ChargeDeltas, FailureCodeChangeOnFailedMovesTheDecline) {
    ChargeFacts old = with_status(succeeded(0), "failed"), now = old;
    old.failure_code = std::nullopt;
    now.failure_code = "card_declined";
    const ChargeDeltas d = charge_deltas(&old, now);
    EXPECT_TRUE(d.payments.empty()) << describe(d);
    EXPECT_TRUE(d.methods.empty());
    EXPECT_TRUE(d.customers.empty());
    ASSERT_EQ(d.declines.size(), 2u) << describe(d);
    int64_t sum = 0;
    for (const auto &x : d.declines) {
        sum += x.failed;
        EXPECT_EQ(x.failed, x.failure_code ? 1 : -1);
    }
    EXPECT_EQ(sum, 0);
    check_both(&old, now, "failed: failure_code NULL -> card_declined");
}

TEST(ChargeDeltas, NullStatusContributesNothing) {
    const ChargeFacts now = with_status(succeeded(1000), std::nullopt);
    const ChargeDeltas d = charge_deltas(nullptr, now);
    EXPECT_TRUE(d.empty()) << describe(d);
    EXPECT_FALSE(d.recompute_span);
    check_both(nullptr, now, "new, status NULL");

    // NULL -> succeeded is a new payment; succeeded -> NULL takes it away.
    const ChargeFacts ok = succeeded(1000);
    const ChargeDeltas up = charge_deltas(&now, ok);
    ASSERT_EQ(up.payments.size(), 1u);
    EXPECT_EQ(up.payments[0].succeeded, 1);
    check_both(&now, ok, "status NULL -> succeeded");
    const ChargeDeltas down = charge_deltas(&ok, now);
    ASSERT_EQ(down.payments.size(), 1u);
    EXPECT_EQ(down.payments[0].succeeded, -1);
    EXPECT_EQ(down.payments[0].gross, -1000);
    EXPECT_TRUE(down.recompute_span);
    check_both(&ok, now, "succeeded -> status NULL");
}

TEST(ChargeDeltas, NullCurrency) {
    ChargeFacts ok = succeeded(1000);
    ok.currency = std::nullopt;
    const ChargeDeltas d = charge_deltas(nullptr, ok);
    EXPECT_TRUE(d.payments.empty()) << describe(d);
    EXPECT_TRUE(d.methods.empty());
    EXPECT_TRUE(d.customers.empty());
    EXPECT_TRUE(d.declines.empty());
    check_both(nullptr, ok, "succeeded, currency NULL");

    ChargeFacts failed = with_status(ok, "failed");
    failed.failure_code = "card_declined";
    const ChargeDeltas f = charge_deltas(nullptr, failed);
    EXPECT_TRUE(f.payments.empty()) << describe(f);
    EXPECT_TRUE(f.methods.empty());
    EXPECT_TRUE(f.customers.empty());
    ASSERT_EQ(f.declines.size(), 1u) << "declines do not need a currency";
    EXPECT_EQ(f.declines[0].failed, 1);
    check_both(nullptr, failed, "failed, currency NULL");

    // Old succeeded with no currency: no customer row, so no span to recompute.
    const ChargeDeltas g = charge_deltas(&ok, failed);
    EXPECT_FALSE(g.recompute_span);
    check_both(&ok, failed, "succeeded -> failed, currency NULL");
}

TEST(ChargeDeltas, NullCreatedIsNotInPayments) {
    ChargeFacts ok = succeeded(1000);
    ok.created = std::nullopt;
    const ChargeDeltas d = charge_deltas(nullptr, ok);
    EXPECT_TRUE(d.payments.empty()) << describe(d);
    ASSERT_EQ(d.methods.size(), 1u);
    ASSERT_EQ(d.customers.size(), 1u);
    EXPECT_EQ(d.customers[0].payments, 1);
    EXPECT_FALSE(d.customers[0].paid_at);
    check_both(nullptr, ok, "succeeded, created NULL");
}

TEST(ChargeDeltas, NullCustomerHasNoCustomerRow) {
    ChargeFacts ok = succeeded(1000);
    ok.customer = std::nullopt;
    const ChargeDeltas d = charge_deltas(nullptr, ok);
    EXPECT_EQ(d.payments.size(), 1u);
    EXPECT_EQ(d.methods.size(), 1u);
    EXPECT_TRUE(d.customers.empty());
    const ChargeDeltas g = charge_deltas(&ok, with_status(ok, "failed"));
    EXPECT_FALSE(g.recompute_span);
    check_both(nullptr, ok, "succeeded, customer NULL");
}

TEST(ChargeDeltas, CustomerChangedOnSucceededRecomputesTheOldSpan) {
    const ChargeFacts old = succeeded(1000);
    ChargeFacts now = old;
    now.customer = "cus_b";
    const ChargeDeltas d = charge_deltas(&old, now);
    EXPECT_TRUE(d.payments.empty()) << describe(d);
    EXPECT_TRUE(d.methods.empty());
    EXPECT_TRUE(d.declines.empty());
    ASSERT_EQ(d.customers.size(), 2u) << describe(d);
    EXPECT_EQ(d.customers[0].customer, "cus_a");  // key order
    EXPECT_EQ(d.customers[0].payments, -1);
    EXPECT_EQ(d.customers[0].spent, -1000);
    EXPECT_FALSE(d.customers[0].paid_at);
    EXPECT_EQ(d.customers[1].customer, "cus_b");
    EXPECT_EQ(d.customers[1].payments, 1);
    EXPECT_EQ(d.customers[1].spent, 1000);
    EXPECT_EQ(d.customers[1].paid_at, OptTime(100));
    ASSERT_TRUE(d.recompute_span);
    EXPECT_EQ(d.recompute_span->account, OptText("acct_1"));
    EXPECT_FALSE(d.recompute_span->livemode);
    EXPECT_EQ(d.recompute_span->customer, "cus_a");
    EXPECT_EQ(d.recompute_span->currency, "usd");
    check_both(&old, now, "succeeded: customer cus_a -> cus_b");

    // The other way round (the old key sorts after the new one): still the old key.
    const ChargeDeltas r = charge_deltas(&now, old);
    ASSERT_TRUE(r.recompute_span);
    EXPECT_EQ(r.recompute_span->customer, "cus_b");
    ASSERT_EQ(r.customers.size(), 2u);
    EXPECT_EQ(r.customers[0].customer, "cus_a");
    EXPECT_EQ(r.customers[1].customer, "cus_b");
    check_both(&now, old, "succeeded: customer cus_b -> cus_a");

    // Customer removed, and customer added.
    ChargeFacts none = old;
    none.customer = std::nullopt;
    const ChargeDeltas rm = charge_deltas(&old, none);
    ASSERT_TRUE(rm.recompute_span);
    EXPECT_EQ(rm.recompute_span->customer, "cus_a");
    check_both(&old, none, "succeeded: customer cus_a -> NULL");
    EXPECT_FALSE(charge_deltas(&none, old).recompute_span);
    check_both(&none, old, "succeeded: customer NULL -> cus_a");
}

TEST(ChargeDeltas, CurrencyAccountOrLivemodeChangedOnSucceededRecomputes) {
    const ChargeFacts old = succeeded(1000);
    ChargeFacts cur = old, acc = old, live = old;
    cur.currency = "eur";
    acc.account = std::nullopt;
    live.livemode = true;
    for (const ChargeFacts *now : {&cur, &acc, &live}) {
        const ChargeDeltas d = charge_deltas(&old, *now);
        ASSERT_TRUE(d.recompute_span) << describe(*now);
        EXPECT_EQ(d.recompute_span->account, OptText("acct_1"));
        EXPECT_FALSE(d.recompute_span->livemode);
        EXPECT_EQ(d.recompute_span->customer, "cus_a");
        EXPECT_EQ(d.recompute_span->currency, "usd");
        check_both(&old, *now, "succeeded: key changed");
    }
}

TEST(ChargeDeltas, CreatedChangedOnSucceededRecomputes) {
    const ChargeFacts old = succeeded(1000);
    ChargeFacts now = old;
    now.created = 200;
    const ChargeDeltas d = charge_deltas(&old, now);
    ASSERT_EQ(d.payments.size(), 2u) << describe(d);  // out of created 100, into created 200
    for (const auto &x : d.payments) {
        EXPECT_EQ(x.succeeded, x.created == 200 ? 1 : -1);
        EXPECT_EQ(x.gross, x.created == 200 ? 1000 : -1000);
    }
    EXPECT_TRUE(d.methods.empty()) << describe(d);
    EXPECT_TRUE(d.customers.empty()) << describe(d);  // counts unchanged; the span is recomputed
    ASSERT_TRUE(d.recompute_span);
    EXPECT_EQ(d.recompute_span->customer, "cus_a");
    EXPECT_EQ(d.recompute_span->currency, "usd");
    check_both(&old, now, "succeeded: created 100 -> 200");

    ChargeFacts earlier = old;
    earlier.created = 10;
    check_both(&old, earlier, "succeeded: created 100 -> 10");
    ChargeFacts unknown = old;
    unknown.created = std::nullopt;
    EXPECT_TRUE(charge_deltas(&old, unknown).recompute_span);
    check_both(&old, unknown, "succeeded: created 100 -> NULL");
    EXPECT_TRUE(charge_deltas(&unknown, old).recompute_span);
    check_both(&unknown, old, "succeeded: created NULL -> 100");
}

TEST(ChargeDeltas, SucceededToFailed) {
    const ChargeFacts old = succeeded(1000);
    ChargeFacts now = with_status(old, "failed");
    now.failure_code = "card_declined";
    const ChargeDeltas d = charge_deltas(&old, now);
    ASSERT_EQ(d.payments.size(), 1u) << describe(d);
    EXPECT_EQ(d.payments[0].succeeded, -1);
    EXPECT_EQ(d.payments[0].failed, 1);
    EXPECT_EQ(d.payments[0].gross, -1000);
    ASSERT_EQ(d.declines.size(), 1u);
    EXPECT_EQ(d.declines[0].failed, 1);
    EXPECT_EQ(d.declines[0].failure_code, OptText("card_declined"));
    ASSERT_EQ(d.methods.size(), 1u);
    EXPECT_EQ(d.methods[0].succeeded, -1);
    EXPECT_EQ(d.methods[0].gross, -1000);
    ASSERT_EQ(d.customers.size(), 1u);
    EXPECT_EQ(d.customers[0].payments, -1);
    EXPECT_EQ(d.customers[0].failed, 1);
    EXPECT_EQ(d.customers[0].spent, -1000);
    EXPECT_FALSE(d.customers[0].paid_at);
    ASSERT_TRUE(d.recompute_span);
    EXPECT_EQ(d.recompute_span->customer, "cus_a");
    check_both(&old, now, "succeeded -> failed");

    // And failed -> succeeded.
    const ChargeDeltas b = charge_deltas(&now, old);
    ASSERT_EQ(b.declines.size(), 1u);
    EXPECT_EQ(b.declines[0].failed, -1);
    ASSERT_EQ(b.customers.size(), 1u);
    EXPECT_EQ(b.customers[0].paid_at, OptTime(100));
    EXPECT_FALSE(b.recompute_span);
    check_both(&now, old, "failed -> succeeded");
}

TEST(ChargeDeltas, PaymentMethodChangeMovesTheMixOnly) {
    const ChargeFacts old = succeeded(1000);
    ChargeFacts now = old;
    now.card_brand = "amex";
    const ChargeDeltas d = charge_deltas(&old, now);
    EXPECT_TRUE(d.payments.empty()) << describe(d);
    EXPECT_TRUE(d.customers.empty());
    EXPECT_FALSE(d.recompute_span);
    ASSERT_EQ(d.methods.size(), 2u);
    for (const auto &x : d.methods) EXPECT_EQ(x.succeeded, x.card_brand == OptText("amex") ? 1 : -1);
    check_both(&old, now, "succeeded: brand visa -> amex");
}

TEST(ChargeDeltas, CustomersSortedByKey) {
    // Old and new in several customer rows each way; the vector must come out in key order
    // (account, livemode, customer, currency), NULL account first.
    for (int order = 0; order < 2; order++) {
        ChargeFacts a = succeeded(1000), b = with_status(succeeded(0), "failed");
        a.customer = "cus_z", a.currency = "usd", a.account = "acct_2", a.livemode = true;
        b.customer = "cus_a", b.currency = "eur", b.account = std::nullopt, b.livemode = false;
        const ChargeFacts &old = order ? b : a, &now = order ? a : b;
        const ChargeDeltas d = charge_deltas(&old, now);
        ASSERT_EQ(d.customers.size(), 2u) << describe(d);
        EXPECT_FALSE(d.customers[0].account) << describe(d);
        EXPECT_EQ(d.customers[1].account, OptText("acct_2")) << describe(d);
        check_both(&old, now, "customers order " + std::to_string(order));
    }
    // Same account/livemode, customers and currencies differing.
    ChargeFacts x = succeeded(1000), y = succeeded(1000);
    x.customer = "cus_b", x.currency = "usd";
    y.customer = "cus_b", y.currency = "eur";
    const ChargeDeltas d = charge_deltas(&x, y);
    ASSERT_EQ(d.customers.size(), 2u);
    EXPECT_EQ(d.customers[0].currency, "eur");
    EXPECT_EQ(d.customers[1].currency, "usd");
    check_both(&x, y, "customers order: currency");
}

TEST(ChargeDeltas, PaidAtOnlyForAnAddedSucceededPayment) {
    // added: new succeeded, or a state not succeeded becoming succeeded
    EXPECT_EQ(charge_deltas(nullptr, succeeded()).customers.at(0).paid_at, OptTime(100));
    const ChargeFacts pending = with_status(succeeded(), "pending"), failed = with_status(succeeded(), "failed");
    EXPECT_EQ(charge_deltas(&pending, succeeded()).customers.at(0).paid_at, OptTime(100));
    EXPECT_EQ(charge_deltas(&failed, succeeded()).customers.at(0).paid_at, OptTime(100));
    // not added: failed rows, rows a payment left
    EXPECT_FALSE(charge_deltas(nullptr, failed).customers.at(0).paid_at);
    const ChargeFacts ok = succeeded();
    EXPECT_FALSE(charge_deltas(&ok, failed).customers.at(0).paid_at);
    {
        ChargeFacts other = succeeded();
        other.customer = "cus_b";
        const ChargeDeltas d = charge_deltas(&other, succeeded());  // cus_b -> cus_a
        ASSERT_EQ(d.customers.size(), 2u);
        for (const auto &x : d.customers)
            EXPECT_EQ(x.paid_at, x.customer == "cus_a" ? OptTime(100) : std::nullopt) << describe(d);
    }
    // a succeeded payment added with no created: no paid_at
    ChargeFacts undated = succeeded();
    undated.created = std::nullopt;
    EXPECT_FALSE(charge_deltas(nullptr, undated).customers.at(0).paid_at);
}

TEST(ChargeDeltas, CohortPaymentComesAndGoesWithSucceeded) {
    const ChargeFacts now = succeeded(1000);
    ChargeDeltas d = charge_deltas(nullptr, now);
    ASSERT_EQ(d.cohort.size(), 1u);
    EXPECT_EQ(d.cohort[0].customer, "cus_a");
    EXPECT_EQ(d.cohort[0].created, 100);
    EXPECT_EQ(d.cohort[0].delta, 1);
    EXPECT_TRUE(charge_deltas(&now, now).cohort.empty());  // a redelivery of the same state
    ChargeFacts refunded = now;
    refunded.amount_captured = 1000, refunded.card_brand = "amex";
    EXPECT_TRUE(charge_deltas(&now, refunded).cohort.empty());
    d = charge_deltas(&now, with_status(now, "failed"));
    ASSERT_EQ(d.cohort.size(), 1u);
    EXPECT_EQ(d.cohort[0].delta, -1);
    ChargeFacts other = now;
    other.customer = "cus_b";
    d = charge_deltas(&now, other);
    ASSERT_EQ(d.cohort.size(), 2u);
    EXPECT_EQ(d.cohort[0].customer, "cus_a");
    EXPECT_EQ(d.cohort[0].delta, -1);
    EXPECT_EQ(d.cohort[1].customer, "cus_b");
    EXPECT_EQ(d.cohort[1].delta, 1);
    ChargeFacts anonymous = now;
    anonymous.customer.reset();
    EXPECT_TRUE(charge_deltas(nullptr, anonymous).cohort.empty());
    ChargeFacts undated = now;
    undated.created.reset();
    EXPECT_TRUE(charge_deltas(nullptr, undated).cohort.empty());
    ChargeFacts no_currency = now;  // any currency, even none: the cohort still counts it
    no_currency.currency.reset();
    EXPECT_EQ(charge_deltas(nullptr, no_currency).cohort.size(), 1u);
    check_both(&now, other, "cohort: customer changed");
}

// The harness itself: wrong deltas must be told apart from right ones (else the properties above
// and below prove nothing).
TEST(ChargeDeltasHarness, DetectsWrongDeltas) {
    auto agrees = [](const std::vector<ChargeFacts> &others, const ChargeFacts *old, const ChargeFacts &now,
                     const ChargeDeltas &d) {
        std::vector<ChargeFacts> before = others, after = others;
        if (old) before.push_back(*old);
        after.push_back(now);
        Agg t = aggregate(before);
        apply(t, d, after);
        return normalized(t) == aggregate(after);
    };
    const std::vector<ChargeFacts> others = neighbours();

    const ChargeFacts ok = succeeded(1000);
    ChargeFacts moved = ok;
    moved.customer = "cus_b";
    ChargeDeltas d = charge_deltas(&ok, moved);
    ASSERT_TRUE(agrees(others, &ok, moved, d));
    d.recompute_span.reset();  // cus_a's last payment (100) would stay
    EXPECT_FALSE(agrees(others, &ok, moved, d));

    ChargeFacts later = ok;
    later.created = 200;
    d = charge_deltas(nullptr, later);
    ASSERT_TRUE(agrees(others, nullptr, later, d));
    for (auto &x : d.customers) x.paid_at.reset();  // last payment would not move to 200
    EXPECT_FALSE(agrees(others, nullptr, later, d));

    d = charge_deltas(nullptr, ok);
    d.payments.at(0).gross += 1;
    EXPECT_FALSE(agrees(others, nullptr, ok, d));
    d = charge_deltas(nullptr, ok);
    d.methods.at(0).card_brand = "amex";
    EXPECT_FALSE(agrees(others, nullptr, ok, d));

    ChargeFacts failed = with_status(ok, "failed");
    d = charge_deltas(nullptr, failed);
    d.declines.at(0).outcome_reason = "x";
    EXPECT_FALSE(agrees(others, nullptr, failed, d));
    d = charge_deltas(nullptr, failed);
    d.customers.at(0).failed = 0, d.customers.at(0).payments = 1;
    EXPECT_FALSE(agrees(others, nullptr, failed, d));

    d = charge_deltas(&ok, moved);
    d.cohort.pop_back();  // the payment would leave cus_a and reach nobody
    EXPECT_FALSE(agrees(others, &ok, moved, d));
}

// ---------------------------------------------------------------------------------------------
// Randomized: small value domains, fixed seed.
// ---------------------------------------------------------------------------------------------

struct Gen {
    std::mt19937 rng;
    explicit Gen(uint32_t seed) : rng(seed) {}
    template <class T>
    T pick(const std::vector<T> &v) {
        return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
    }
    bool coin(int percent) { return std::uniform_int_distribution<int>(0, 99)(rng) < percent; }

    OptText status() { return pick<OptText>({std::nullopt, "succeeded", "failed", "pending"}); }
    OptText account() { return pick<OptText>({std::nullopt, "acct_1", "acct_2"}); }
    bool livemode() { return coin(50); }
    OptTime created() { return pick<OptTime>({std::nullopt, 1, 2}); }
    OptText currency() { return pick<OptText>({std::nullopt, "usd", "eur"}); }
    OptText customer() { return pick<OptText>({std::nullopt, "cus_a", "cus_b"}); }
    OptText failure_code() { return pick<OptText>({std::nullopt, "card_declined", "expired_card"}); }
    OptText outcome_reason() { return pick<OptText>({std::nullopt, "highest_risk_level"}); }
    OptText pm_type() { return pick<OptText>({std::nullopt, "card", "sepa_debit"}); }
    OptText brand() { return pick<OptText>({std::nullopt, "visa", "amex"}); }
    OptTime amount() { return pick<OptTime>({std::nullopt, 0, 3, 10, 250}); }

    ChargeFacts charge() {
        ChargeFacts c;
        c.account = account(), c.livemode = livemode(), c.created = created(), c.status = status();
        c.currency = currency(), c.customer = customer(), c.failure_code = failure_code();
        c.outcome_reason = outcome_reason(), c.payment_method_type = pm_type(), c.card_brand = brand();
        c.amount_captured = amount();
        return c;
    }
    // A new state near the old one (one to three fields changed), as deliveries mostly are.
    ChargeFacts mutate(ChargeFacts c) {
        const int n = 1 + static_cast<int>(std::uniform_int_distribution<int>(0, 2)(rng));
        for (int i = 0; i < n; i++) switch (std::uniform_int_distribution<int>(0, 10)(rng)) {
                case 0: c.account = account(); break;
                case 1: c.livemode = livemode(); break;
                case 2: c.created = created(); break;
                case 3: c.status = status(); break;
                case 4: c.currency = currency(); break;
                case 5: c.customer = customer(); break;
                case 6: c.failure_code = failure_code(); break;
                case 7: c.outcome_reason = outcome_reason(); break;
                case 8: c.payment_method_type = pm_type(); break;
                case 9: c.card_brand = brand(); break;
                default: c.amount_captured = amount(); break;
            }
        return c;
    }
    ChargeFacts next(const ChargeFacts &old) {
        const int r = std::uniform_int_distribution<int>(0, 9)(rng);
        if (r == 0) return old;  // same facts (a later delivery changing only other columns)
        if (r <= 5) return mutate(old);
        return charge();
    }
};

TEST(ChargeDeltasRandom, PairsAgainstBulkDefinition) {
    Gen g(20240611);
    int seen_span = 0, seen_empty = 0, seen_paid_at = 0, seen_declines = 0, seen_two_payments = 0;
    for (int i = 0; i < 4000; i++) {
        std::vector<ChargeFacts> others;
        const int n = std::uniform_int_distribution<int>(0, 4)(g.rng);
        for (int j = 0; j < n; j++) others.push_back(g.charge());
        const bool known = g.coin(85);
        const ChargeFacts old = g.charge();
        const ChargeFacts now = known ? g.next(old) : g.charge();
        const ChargeDeltas d = charge_deltas(known ? &old : nullptr, now);
        seen_span += d.recompute_span.has_value(), seen_empty += d.empty();
        for (const auto &x : d.customers) seen_paid_at += x.paid_at.has_value();
        seen_declines += !d.declines.empty(), seen_two_payments += d.payments.size() == 2;
        check_against_bulk(others, known ? &old : nullptr, now, "iteration " + std::to_string(i));
        if (::testing::Test::HasFailure()) break;  // one readable failure, not thousands
    }
    // The domains do reach the interesting paths.
    EXPECT_GT(seen_span, 50);
    EXPECT_GT(seen_empty, 200);
    EXPECT_GT(seen_paid_at, 200);
    EXPECT_GT(seen_declines, 200);
    EXPECT_GT(seen_two_payments, 50);
}

// Several charges changing in turn on one incrementally maintained set of tables, starting empty:
// every table row's history (inserted by one charge, moved by others, first/last widened with
// least/greatest and narrowed by recomputation) must always equal the bulk definition.
TEST(ChargeDeltasRandom, SequencesAgainstBulkDefinition) {
    Gen g(7);
    for (int run = 0; run < 300; run++) {
        std::vector<std::optional<ChargeFacts>> charges(3);
        Agg tables;
        for (int step = 0; step < 20; step++) {
            const size_t i = std::uniform_int_distribution<size_t>(0, charges.size() - 1)(g.rng);
            const ChargeFacts now = charges[i] ? g.next(*charges[i]) : g.charge();
            const ChargeFacts *old = charges[i] ? &*charges[i] : nullptr;
            const ChargeDeltas d = charge_deltas(old, now);
            const std::string ctx = "run " + std::to_string(run) + " step " + std::to_string(step) + " charge " +
                                    std::to_string(i) + "\nold: " + describe(old) + "\nnew: " + describe(now) +
                                    "\ndeltas:\n" + describe(d);
            check_shape(old, now, d, ctx);
            charges[i] = now;
            std::vector<ChargeFacts> set;
            for (const auto &c : charges)
                if (c) set.push_back(*c);
            apply(tables, d, set);
            const Agg got = normalized(tables), want = aggregate(set);
            EXPECT_TRUE(got == want) << "incremental != bulk\n" << ctx << "got:\n" << describe(got) << "want:\n" << describe(want);
            if (::testing::Test::HasFailure()) return;
        }
    }
}

}  // namespace
