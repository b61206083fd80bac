// Unit tests of the event extractor (src/core/event.cpp): envelope validation, the typed columns
// of each object kind, embedded objects, wrong types, and the error classes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "event.hpp"

using pgstripe::ColType;
using pgstripe::Event;
using pgstripe::EventError;
using pgstripe::ObjectKind;
using pgstripe::Row;
using nlohmann::json;

namespace {

json event(const std::string &type, json object, json extra = json::object()) {
    json e = {{"id", "evt_1"}, {"object", "event"}, {"type", type}, {"created", 1700000000},
              {"livemode", false}, {"data", {{"object", object}}}};
    for (auto &[k, v] : extra.items()) e[k] = v;
    return e;
}

EventError extract(const std::string &body, Event *ev, std::string *err) {
    static pgstripe::JsonDoc doc;
    return pgstripe::extract_event(body, doc, ev, err);
}

const pgstripe::Value &col(const Row &r, const char *name) {
    for (const auto &c : r.cols)
        if (std::string(c.name) == name) return c.value;
    static pgstripe::Value missing;
    ADD_FAILURE() << "no column " << name;
    return missing;
}

json fixture(const char *kind) {
    for (const char *path : {"test/fixtures/stripe_objects.json", "../test/fixtures/stripe_objects.json",
                             "../../test/fixtures/stripe_objects.json"}) {
        std::ifstream f(path);
        if (f) return json::parse(f)[kind];
    }
    return json();
}

}  // namespace

TEST(Event, ChargeColumns) {
    json ch = {{"id", "ch_1"}, {"object", "charge"}, {"created", 1699999990}, {"status", "succeeded"},
               {"amount", 5000}, {"amount_captured", 5000}, {"amount_refunded", 0}, {"currency", "KRW"},
               {"customer", {{"id", "cus_9"}, {"object", "customer"}}},  // expanded object
               {"outcome", {{"reason", "elevated_risk_level"}}},
               {"payment_method_details", {{"type", "card"}, {"card", {{"brand", "visa"}}}}},
               {"brand_new_field", {{"nested", true}}}};
    Event ev;
    std::string err;
    // The extracted views (data) point into the body: keep it alive.
    const std::string body = event("charge.succeeded", ch, {{"account", "acct_1"}, {"livemode", true}}).dump();
    ASSERT_EQ(extract(body, &ev, &err), EventError::None) << err;
    EXPECT_EQ(ev.id, "evt_1");
    EXPECT_EQ(ev.account, "acct_1");
    EXPECT_TRUE(ev.has_account);
    EXPECT_TRUE(ev.livemode);
    EXPECT_EQ(ev.object_type, "charge");
    ASSERT_EQ(ev.rows.size(), 1u);
    const Row &r = ev.rows[0];
    EXPECT_EQ(r.kind, ObjectKind::Charge);
    EXPECT_EQ(col(r, "id").s, "ch_1");
    EXPECT_EQ(col(r, "created").i, 1699999990);
    EXPECT_EQ(col(r, "event_created").i, 1700000000);
    EXPECT_EQ(col(r, "amount").i, 5000);
    EXPECT_EQ(col(r, "currency").s, "krw");  // lowercased
    EXPECT_EQ(col(r, "customer").s, "cus_9");
    EXPECT_EQ(col(r, "card_brand").s, "visa");
    EXPECT_EQ(col(r, "outcome_reason").s, "elevated_risk_level");
    EXPECT_TRUE(col(r, "failure_code").null);  // missing fields are NULL
    EXPECT_EQ(col(r, "deleted").i, 0);
    // data is the object's own text, verbatim.
    EXPECT_EQ(std::string(col(r, "data").raw), ch.dump());
}

TEST(Event, EmbeddedRefundsAndItems) {
    json ch = {{"id", "ch_1"}, {"object", "charge"}, {"status", "succeeded"},
               {"refunds", {{"object", "list"}, {"data", json::array({{{"id", "re_1"}, {"amount", 10}}, {{"id", "re_2"}, {"amount", 20}}})}}}};
    Event ev;
    std::string err;
    ASSERT_EQ(extract(event("charge.refunded", ch).dump(), &ev, &err), EventError::None) << err;
    ASSERT_EQ(ev.rows.size(), 3u);
    EXPECT_EQ(ev.rows[1].kind, ObjectKind::Refund);
    EXPECT_EQ(col(ev.rows[2], "amount").i, 20);

    json sub = {{"id", "sub_1"}, {"object", "subscription"}, {"status", "active"},
                {"items", {{"object", "list"}, {"data", json::array({{{"id", "si_1"}, {"quantity", 2},
                  {"price", {{"id", "price_1"}, {"unit_amount", 900}, {"currency", "usd"}, {"recurring", {{"interval", "month"}}}}}}})}}}};
    ASSERT_EQ(extract(event("customer.subscription.updated", sub).dump(), &ev, &err), EventError::None) << err;
    ASSERT_EQ(ev.rows.size(), 2u);
    EXPECT_EQ(ev.rows[1].kind, ObjectKind::SubscriptionItem);
    EXPECT_EQ(col(ev.rows[1], "subscription").s, "sub_1");
    EXPECT_EQ(col(ev.rows[1], "price").s, "price_1");
    EXPECT_EQ(col(ev.rows[1], "interval").s, "month");
}

TEST(Event, DeletedAndAlternatives) {
    Event ev;
    std::string err;
    ASSERT_EQ(extract(event("customer.deleted", {{"id", "cus_1"}, {"object", "customer"}}).dump(), &ev, &err),
              EventError::None);
    EXPECT_TRUE(ev.deleted);
    EXPECT_EQ(col(ev.rows[0], "deleted").i, 1);
    // invoice.subscription moved under parent.subscription_details in newer API versions.
    json inv = {{"id", "in_1"}, {"object", "invoice"}, {"parent", {{"subscription_details", {{"subscription", "sub_7"}}}}}};
    ASSERT_EQ(extract(event("invoice.paid", inv).dump(), &ev, &err), EventError::None) << err;
    EXPECT_EQ(col(ev.rows[0], "subscription").s, "sub_7");
}

TEST(Event, EveryFixtureShape) {
    const std::pair<const char *, ObjectKind> kinds[] = {
        {"charge", ObjectKind::Charge}, {"payment_intent", ObjectKind::PaymentIntent}, {"refund", ObjectKind::Refund},
        {"dispute", ObjectKind::Dispute}, {"customer", ObjectKind::Customer},
        {"checkout.session", ObjectKind::CheckoutSession}, {"subscription", ObjectKind::Subscription},
        {"invoice", ObjectKind::Invoice}};
    for (auto &[name, kind] : kinds) {
        json o = fixture(name);
        ASSERT_FALSE(o.is_null()) << "fixture " << name << " not found (run from the repository or build dir)";
        Event ev;
        std::string err;
        EXPECT_EQ(extract(event(std::string(name) + ".updated", o).dump(), &ev, &err), EventError::None)
            << name << ": " << err;
        ASSERT_FALSE(ev.rows.empty()) << name;
        EXPECT_EQ(ev.rows[0].kind, kind) << name;
    }
}

TEST(Event, ErrorClasses) {
    Event ev;
    std::string err;
    EXPECT_EQ(extract("{", &ev, &err), EventError::InvalidJson);
    EXPECT_EQ(extract("[1]", &ev, &err), EventError::InvalidJson);
    EXPECT_EQ(extract("\xEF\xBB\xBF{}", &ev, &err), EventError::InvalidJson);
    EXPECT_EQ(extract(R"({"id":"evt","object":"v2.core.event","type":"x","created":1})", &ev, &err),
              EventError::ThinEvent);
    EXPECT_EQ(extract(R"({"type":"x","created":1,"livemode":false,"data":{"object":{}}})", &ev, &err),
              EventError::InvalidEvent);
    EXPECT_EQ(extract(R"({"id":"e","type":"x","created":1.5,"livemode":false,"data":{"object":{}}})", &ev, &err),
              EventError::InvalidEvent);
    EXPECT_EQ(extract(R"({"id":"e","type":"x","created":1,"data":{"object":{}}})", &ev, &err),
              EventError::InvalidEvent);  // no livemode anywhere
    // Wrong types of known fields.
    for (const char *bad : {R"({"id":"ch","object":"charge","amount":"5"})", R"({"id":"ch","object":"charge","amount":5.0})",
                            R"({"id":"ch","object":"charge","currency":"usdx"})", R"({"id":"ch","object":"charge","status":true})",
                            R"({"id":"ch","object":"charge","customer":7})", R"({"object":"charge"})"}) {
        std::string body = R"({"id":"e","type":"charge.updated","created":1,"livemode":false,"data":{"object":)" +
                           std::string(bad) + "}}";
        EXPECT_EQ(extract(body, &ev, &err), EventError::InvalidEvent) << bad;
        EXPECT_NE(err.find("field"), std::string::npos) << err;
    }
    // Unknown object types: no rows, not an error.
    EXPECT_EQ(extract(R"({"id":"e","type":"x.y","created":1,"livemode":true,"data":{"object":{"object":"thing"}}})", &ev, &err),
              EventError::None);
    EXPECT_TRUE(ev.rows.empty());
}

TEST(Event, Currencies) {
    EXPECT_EQ(pgstripe::currency_exponent("jpy"), 0);
    EXPECT_EQ(pgstripe::currency_exponent("krw"), 0);
    EXPECT_EQ(pgstripe::currency_exponent("kwd"), 3);
    EXPECT_EQ(pgstripe::currency_exponent("usd"), 2);
    EXPECT_EQ(pgstripe::currency_exponent("zzz"), 2);
}

TEST(Event, Bounds) {
    Event ev;
    std::string err;
    std::string long_id(256, 'x');
    auto body = [](json obj, json extra = json::object()) { return event("charge.updated", obj, extra).dump(); };
    // Ids, codes and amounts that a later write could not store or sum are refused up front.
    EXPECT_EQ(extract(body({{"id", long_id}, {"object", "charge"}}), &ev, &err), EventError::InvalidEvent);
    EXPECT_EQ(extract(body({{"id", "ch"}, {"object", "charge"}, {"customer", long_id}}), &ev, &err), EventError::InvalidEvent);
    EXPECT_EQ(extract(body({{"id", "ch"}, {"object", "charge"}, {"failure_code", std::string(513, 'c')}}), &ev, &err),
              EventError::InvalidEvent);
    EXPECT_EQ(extract(body({{"id", "ch"}, {"object", "charge"}, {"amount", 9000000000000000000LL}}), &ev, &err),
              EventError::InvalidEvent);
    EXPECT_EQ(extract(body({{"id", "ch"}, {"object", "charge"}}, {{"id", long_id}}), &ev, &err), EventError::InvalidEvent);
    EXPECT_EQ(extract(body({{"id", "ch"}, {"object", "charge"}}, {{"account", long_id}}), &ev, &err), EventError::InvalidEvent);
    EXPECT_EQ(extract(body({{"id", long_id}, {"object", "thing"}}), &ev, &err), EventError::InvalidEvent);
    // At the bounds: fine.
    EXPECT_EQ(extract(body({{"id", std::string(255, 'x')}, {"object", "charge"}, {"amount", 1000000000000000LL}}), &ev, &err),
              EventError::None)
        << err;
}
