// From a webhook body to typed rows (pure C++, no postgres.h).
//
// extract_event() validates an event's envelope (SPEC §2: id, type, created, livemode,
// data.object) and turns data.object — plus the objects Stripe embeds in it (a charge's refunds,
// a subscription's items) — into typed rows, one per object, described declaratively by the
// field tables in event.cpp. The Postgres layer maps the column names onto the tables of the
// same names and calls the upsert functions of src/sql/20_ingest.sql. Unknown object types give
// no rows (the event is still logged); unknown fields are ignored; missing fields are NULL;
// a known field of the wrong JSON type makes the event invalid.
#pragma once
#include "cpp_only.hpp"
#include "json.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgstripe {

enum class ObjectKind : uint8_t {
    Charge, PaymentIntent, Refund, Dispute, Customer, CheckoutSession, Subscription,
    SubscriptionItem, Invoice,
    Count_  // number of kinds
};
// The table (and upsert function suffix) of a kind: "charges", "payment_intents", ...
const char *kind_table(ObjectKind k);

enum class ColType : uint8_t { Text, Int, Bool, Time /* unix seconds */, Json /* raw text */ };

struct Value {
    ColType type = ColType::Text;
    bool null = true;
    int64_t i = 0;     // Int, Bool (0/1), Time
    std::string s;     // Text (unescaped UTF-8)
    std::string_view raw;  // Json: a slice of the body
};

struct Column {
    const char *name;
    Value value;
};

struct Row {
    ObjectKind kind;
    std::vector<Column> cols;  // always includes id, created, event_created, deleted, data
};

struct Event {
    std::string id, type, account, api_version;
    bool has_account = false, has_api_version = false;
    int64_t created = 0;
    bool livemode = false;
    std::string object_type, object_id;  // of data.object (may be empty for unknown shapes)
    bool deleted = false;                // type ends in ".deleted": leaves a tombstone
    std::vector<Row> rows;
};

// Why a body is not an event, one class per SQLSTATE (src/pg/errors.hpp).
enum class EventError : uint8_t {
    None,
    InvalidJson,   // not JSON, or not a JSON object
    ThinEvent,     // object "v2.core.event": no object state to keep
    InvalidEvent,  // a required field missing, or a known field of the wrong type
};

// Parses and validates; on failure returns the class and a human-readable reason in *error (no
// body content beyond field names is quoted, so reasons are safe to log).
EventError extract_event(std::string_view body, JsonDoc &doc, Event *out, std::string *error);

// Stripe currency exponent: 0 for zero-decimal currencies, 3 for three-decimal ones, else 2.
int currency_exponent(std::string_view lowercase_iso);

}  // namespace pgstripe
