#include "event.hpp"
#include "signature.hpp"

#include <cstring>

namespace pgstripe {

namespace {

// Bounds on what a valid Stripe object can hold, so that nothing an event carries can break a
// later write: ids and codes are indexed (a btree entry must stay far below 2.7 KB) and amounts
// are summed in bigint aggregates. Stripe's own ids are < 100 bytes and its largest amounts
// are 8 digits (12 for a few currencies).
constexpr size_t kMaxIdBytes = 255;
constexpr size_t kMaxTextBytes = 512;
constexpr int64_t kMaxAmount = 1000000000000000LL;  // 10^15 minor units

// How a field is read from the JSON object.
enum class Src : uint8_t {
    Text,      // string or null
    Currency,  // 3-letter ISO code, stored lowercase
    Int,       // integer number or null (a float or a string is an error)
    Bool,      // true/false or null
    Time,      // integer unix seconds or null
    Ref,       // an id: a string, or an expanded object whose "id" is a string, or null
};

struct Field {
    const char *column;
    const char *path;  // dotted path inside the object
    Src src;
};

// Typed columns per object kind: exactly what SPEC §3 and the object tables need. Everything
// else stays in the `data` column (the full object, verbatim).
const Field kCharge[] = {
    {"status", "status", Src::Text},
    {"amount", "amount", Src::Int},
    {"amount_captured", "amount_captured", Src::Int},
    {"amount_refunded", "amount_refunded", Src::Int},
    {"currency", "currency", Src::Currency},
    {"customer", "customer", Src::Ref},
    {"payment_intent", "payment_intent", Src::Ref},
    {"invoice", "invoice", Src::Ref},
    {"captured", "captured", Src::Bool},
    {"refunded", "refunded", Src::Bool},
    {"disputed", "disputed", Src::Bool},
    {"failure_code", "failure_code", Src::Text},
    {"outcome_type", "outcome.type", Src::Text},
    {"outcome_reason", "outcome.reason", Src::Text},
    {"payment_method_type", "payment_method_details.type", Src::Text},
    {"card_brand", "payment_method_details.card.brand", Src::Text},
};
const Field kPaymentIntent[] = {
    {"status", "status", Src::Text},
    {"amount", "amount", Src::Int},
    {"amount_received", "amount_received", Src::Int},
    {"currency", "currency", Src::Currency},
    {"customer", "customer", Src::Ref},
    {"latest_charge", "latest_charge", Src::Ref},
    {"last_error_code", "last_payment_error.code", Src::Text},
    {"cancellation_reason", "cancellation_reason", Src::Text},
};
const Field kRefund[] = {
    {"status", "status", Src::Text},
    {"amount", "amount", Src::Int},
    {"currency", "currency", Src::Currency},
    {"charge", "charge", Src::Ref},
    {"payment_intent", "payment_intent", Src::Ref},
    {"reason", "reason", Src::Text},
};
const Field kDispute[] = {
    {"status", "status", Src::Text},
    {"amount", "amount", Src::Int},
    {"currency", "currency", Src::Currency},
    {"charge", "charge", Src::Ref},
    {"payment_intent", "payment_intent", Src::Ref},
    {"reason", "reason", Src::Text},
};
const Field kCustomer[] = {
    {"email", "email", Src::Text},
    {"name", "name", Src::Text},
    {"currency", "currency", Src::Currency},
    {"delinquent", "delinquent", Src::Bool},
};
const Field kCheckoutSession[] = {
    {"status", "status", Src::Text},
    {"payment_status", "payment_status", Src::Text},
    {"mode", "mode", Src::Text},
    {"amount_total", "amount_total", Src::Int},
    {"currency", "currency", Src::Currency},
    {"customer", "customer", Src::Ref},
    {"payment_intent", "payment_intent", Src::Ref},
    {"subscription", "subscription", Src::Ref},
};
const Field kSubscription[] = {
    {"status", "status", Src::Text},
    {"customer", "customer", Src::Ref},
    {"currency", "currency", Src::Currency},
    {"cancel_at_period_end", "cancel_at_period_end", Src::Bool},
    {"canceled_at", "canceled_at", Src::Time},
    {"ended_at", "ended_at", Src::Time},
    {"start_date", "start_date", Src::Time},
    {"trial_start", "trial_start", Src::Time},
    {"trial_end", "trial_end", Src::Time},
};
const Field kSubscriptionItem[] = {
    {"price", "price.id", Src::Text},
    {"product", "price.product", Src::Ref},
    {"quantity", "quantity", Src::Int},
    {"unit_amount", "price.unit_amount", Src::Int},
    {"currency", "price.currency", Src::Currency},
    {"interval", "price.recurring.interval", Src::Text},
    {"interval_count", "price.recurring.interval_count", Src::Int},
    {"current_period_start", "current_period_start", Src::Time},
    {"current_period_end", "current_period_end", Src::Time},
};
const Field kInvoice[] = {
    {"status", "status", Src::Text},
    {"customer", "customer", Src::Ref},
    {"subscription", "subscription|parent.subscription_details.subscription", Src::Ref},
    {"currency", "currency", Src::Currency},
    {"amount_due", "amount_due", Src::Int},
    {"amount_paid", "amount_paid", Src::Int},
    {"amount_remaining", "amount_remaining", Src::Int},
    {"total", "total", Src::Int},
    {"billing_reason", "billing_reason", Src::Text},
    {"paid_at", "status_transitions.paid_at", Src::Time},
};

template <size_t N>
constexpr std::pair<const Field *, size_t> fields(const Field (&a)[N]) {
    return {a, N};
}

std::pair<const Field *, size_t> fields_of(ObjectKind k) {
    switch (k) {
        case ObjectKind::Charge: return fields(kCharge);
        case ObjectKind::PaymentIntent: return fields(kPaymentIntent);
        case ObjectKind::Refund: return fields(kRefund);
        case ObjectKind::Dispute: return fields(kDispute);
        case ObjectKind::Customer: return fields(kCustomer);
        case ObjectKind::CheckoutSession: return fields(kCheckoutSession);
        case ObjectKind::Subscription: return fields(kSubscription);
        case ObjectKind::SubscriptionItem: return fields(kSubscriptionItem);
        case ObjectKind::Invoice: return fields(kInvoice);
        case ObjectKind::Count_: break;
    }
    return {nullptr, 0};
}

bool kind_of_object(std::string_view object, ObjectKind *k) {
    static const std::pair<std::string_view, ObjectKind> map[] = {
        {"charge", ObjectKind::Charge},           {"payment_intent", ObjectKind::PaymentIntent},
        {"refund", ObjectKind::Refund},           {"dispute", ObjectKind::Dispute},
        {"customer", ObjectKind::Customer},       {"checkout.session", ObjectKind::CheckoutSession},
        {"subscription", ObjectKind::Subscription}, {"invoice", ObjectKind::Invoice},
    };
    for (auto &[name, kind] : map)
        if (object == name) {
            *k = kind;
            return true;
        }
    return false;
}

// Parses a JSON integer token (no fraction, no exponent) that fits int64.
bool json_int(std::string_view t, int64_t *out) {
    if (t.empty()) return false;
    for (size_t i = (t[0] == '-'); i < t.size(); i++)
        if (t[i] < '0' || t[i] > '9') return false;
    return parse_int64(t, out);  // the header parser's overflow-checked decimal reader
}

struct Extractor {
    const JsonDoc &doc;
    std::string *error;

    bool bad(const std::string &where, const char *what) {
        *error = "field " + where + " " + what;
        return false;
    }

    // Reads one field of `obj` into v; false (with *error) if present with the wrong type.
    // A path may list alternatives, "a|b": the first one present and not null is read (Stripe
    // moved some fields between API versions, e.g. invoice.subscription).
    uint32_t lookup(uint32_t obj, std::string_view paths, std::string_view *used) const {
        while (true) {
            size_t bar = paths.find('|');
            std::string_view p = paths.substr(0, bar);
            uint32_t n = doc.path(obj, p);
            *used = p;
            if ((n && doc.node(n).kind != JsonKind::Null) || bar == std::string_view::npos) return n;
            paths.remove_prefix(bar + 1);
        }
    }

    bool read(uint32_t obj, const Field &f, const std::string &prefix, Value *v) {
        std::string_view used;
        uint32_t n = lookup(obj, f.path, &used);
        v->null = true;
        switch (f.src) {
            case Src::Text: case Src::Currency: case Src::Ref: v->type = ColType::Text; break;
            case Src::Int: v->type = ColType::Int; break;
            case Src::Bool: v->type = ColType::Bool; break;
            case Src::Time: v->type = ColType::Time; break;
        }
        if (!n || doc.node(n).kind == JsonKind::Null) return true;
        const JsonNode &node = doc.node(n);
        std::string where = prefix + std::string(used);
        switch (f.src) {
            case Src::Text:
                if (node.kind != JsonKind::String) return bad(where, "must be a string");
                v->s = doc.string_value(n);
                if (v->s.size() > kMaxTextBytes) return bad(where, "is too long");
                break;
            case Src::Currency: {
                if (node.kind != JsonKind::String) return bad(where, "must be a string");
                std::string c = doc.string_value(n);
                if (c.size() != 3) return bad(where, "must be a three-letter ISO currency code");
                for (char &ch : c) {
                    if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
                    if (ch < 'a' || ch > 'z') return bad(where, "must be a three-letter ISO currency code");
                }
                v->s = std::move(c);
                break;
            }
            case Src::Ref:
                if (node.kind == JsonKind::String) {
                    v->s = doc.string_value(n);
                } else if (node.kind == JsonKind::Object) {
                    uint32_t id = doc.member(n, "id");
                    if (!id || doc.node(id).kind != JsonKind::String) return bad(where, "must be an id or an object with an id");
                    v->s = doc.string_value(id);
                } else {
                    return bad(where, "must be an id or an object with an id");
                }
                if (v->s.size() > kMaxIdBytes) return bad(where, "is too long for an id");
                break;
            case Src::Int:
                if (node.kind != JsonKind::Number || !json_int(node.text, &v->i))
                    return bad(where, "must be an integer");
                if (v->i > kMaxAmount || v->i < -kMaxAmount) return bad(where, "is out of range");
                break;
            case Src::Time:
                if (node.kind != JsonKind::Number || !json_int(node.text, &v->i))
                    return bad(where, "must be an integer");
                break;
            case Src::Bool:
                if (node.kind != JsonKind::True && node.kind != JsonKind::False) return bad(where, "must be a boolean");
                v->i = node.kind == JsonKind::True;
                break;
        }
        v->null = false;
        return true;
    }

    // One row for the object at `obj` (which must have a string id and may have `created`).
    bool row(ObjectKind kind, uint32_t obj, const std::string &prefix, const Event &ev, bool deleted,
             std::vector<Row> *rows, const char *parent_col = nullptr, const std::string *parent_id = nullptr) {
        Row r;
        r.kind = kind;
        auto [fs, nf] = fields_of(kind);
        r.cols.reserve(nf + 8);
        uint32_t id = doc.member(obj, "id");
        if (!id || doc.node(id).kind != JsonKind::String || doc.node(id).text.empty())
            return bad(prefix + "id", "must be a non-empty string");
        Value v;
        v.null = false;
        v.s = doc.string_value(id);
        if (v.s.size() > kMaxIdBytes) return bad(prefix + "id", "is too long for an id");
        r.cols.push_back({"id", v});
        Value created;
        static const Field kCreated{"created", "created", Src::Time};
        if (!read(obj, kCreated, prefix, &created)) return false;
        r.cols.push_back({"created", created});
        for (size_t i = 0; i < nf; i++) {
            Value fv;
            if (!read(obj, fs[i], prefix, &fv)) return false;
            r.cols.push_back({fs[i].column, std::move(fv)});
        }
        if (parent_col) {
            Value p;
            p.null = false;
            p.s = *parent_id;
            r.cols.push_back({parent_col, p});
        }
        Value ec;
        ec.type = ColType::Time;
        ec.null = false;
        ec.i = ev.created;
        r.cols.push_back({"event_created", ec});
        Value del;
        del.type = ColType::Bool;
        del.null = false;
        del.i = deleted;
        r.cols.push_back({"deleted", del});
        Value data;
        data.type = ColType::Json;
        data.null = false;
        data.raw = doc.node(obj).text;
        r.cols.push_back({"data", data});
        rows->push_back(std::move(r));
        return true;
    }

    // The objects of a list embedded at `path` ({"object":"list","data":[...]}), if present.
    bool embedded(uint32_t obj, const char *path, ObjectKind kind, const std::string &prefix, const Event &ev,
                  std::vector<Row> *rows, const char *parent_col = nullptr, const std::string *parent_id = nullptr) {
        uint32_t list = doc.path(obj, path);
        if (!list || doc.node(list).kind == JsonKind::Null) return true;
        uint32_t data = doc.member(list, "data");
        if (!data || doc.node(data).kind != JsonKind::Array) return bad(prefix + path, "must be a list object");
        int i = 0;
        for (uint32_t c = doc.node(data).first_child; c; c = doc.node(c).next_sibling, i++) {
            if (doc.node(c).kind != JsonKind::Object) return bad(prefix + path + ".data", "must hold objects");
            std::string p = prefix + path + ".data[" + std::to_string(i) + "].";
            if (!row(kind, c, p, ev, false, rows, parent_col, parent_id)) return false;
        }
        return true;
    }
};

bool get_string(const JsonDoc &doc, uint32_t n, std::string *out) {
    if (!n || doc.node(n).kind != JsonKind::String) return false;
    *out = doc.string_value(n);
    return true;
}

}  // namespace

const char *kind_table(ObjectKind k) {
    switch (k) {
        case ObjectKind::Charge: return "charges";
        case ObjectKind::PaymentIntent: return "payment_intents";
        case ObjectKind::Refund: return "refunds";
        case ObjectKind::Dispute: return "disputes";
        case ObjectKind::Customer: return "customers";
        case ObjectKind::CheckoutSession: return "checkout_sessions";
        case ObjectKind::Subscription: return "subscriptions";
        case ObjectKind::SubscriptionItem: return "subscription_items";
        case ObjectKind::Invoice: return "invoices";
        case ObjectKind::Count_: break;
    }
    return "?";
}

EventError extract_event(std::string_view body, JsonDoc &doc, Event *ev, std::string *error) {
    *ev = Event{};
    if (!doc.parse(body)) {
        *error = "invalid JSON: " + doc.error();
        return EventError::InvalidJson;
    }
    const uint32_t root = doc.root();
    if (doc.node(root).kind != JsonKind::Object) {
        *error = "the event is not a JSON object";
        return EventError::InvalidJson;
    }
    std::string object;
    if (get_string(doc, doc.member(root, "object"), &object) && object == "v2.core.event") {
        *error = "thin events (object v2.core.event) carry no object state";
        return EventError::ThinEvent;
    }
    if (!get_string(doc, doc.member(root, "id"), &ev->id) || ev->id.empty() || ev->id.size() > kMaxIdBytes) {
        *error = "field id must be a non-empty string of at most 255 bytes";
        return EventError::InvalidEvent;
    }
    if (!get_string(doc, doc.member(root, "type"), &ev->type) || ev->type.empty() || ev->type.size() > kMaxIdBytes) {
        *error = "field type must be a non-empty string of at most 255 bytes";
        return EventError::InvalidEvent;
    }
    uint32_t created = doc.member(root, "created");
    if (!created || doc.node(created).kind != JsonKind::Number || !json_int(doc.node(created).text, &ev->created)) {
        *error = "field created must be an integer (unix seconds)";
        return EventError::InvalidEvent;
    }
    uint32_t obj = doc.path(root, "data.object");
    if (!obj || doc.node(obj).kind != JsonKind::Object) {
        *error = "field data.object must be an object";
        return EventError::InvalidEvent;
    }
    // livemode: the event's own flag; Stripe always sends it. Fall back on the object's.
    uint32_t live = doc.member(root, "livemode");
    if (!live || doc.node(live).kind == JsonKind::Null) live = doc.member(obj, "livemode");
    if (!live || (doc.node(live).kind != JsonKind::True && doc.node(live).kind != JsonKind::False)) {
        *error = "field livemode must be a boolean";
        return EventError::InvalidEvent;
    }
    ev->livemode = doc.node(live).kind == JsonKind::True;
    uint32_t acct = doc.member(root, "account");
    if (acct && doc.node(acct).kind != JsonKind::Null) {
        if (!get_string(doc, acct, &ev->account) || ev->account.size() > kMaxIdBytes) {
            *error = "field account must be a string of at most 255 bytes";
            return EventError::InvalidEvent;
        }
        ev->has_account = true;
    }
    uint32_t apiv = doc.member(root, "api_version");
    if (apiv && doc.node(apiv).kind != JsonKind::Null) {
        if (!get_string(doc, apiv, &ev->api_version) || ev->api_version.size() > kMaxIdBytes) {
            *error = "field api_version must be a string of at most 255 bytes";
            return EventError::InvalidEvent;
        }
        ev->has_api_version = true;
    }
    std::string_view t = ev->type;
    const std::string_view suffix = ".deleted";
    ev->deleted = t.size() >= suffix.size() && t.substr(t.size() - suffix.size()) == suffix;

    get_string(doc, doc.member(obj, "object"), &ev->object_type);
    get_string(doc, doc.member(obj, "id"), &ev->object_id);
    if (ev->object_type.size() > kMaxIdBytes || ev->object_id.size() > kMaxIdBytes) {
        *error = "field data.object.object or data.object.id is too long";
        return EventError::InvalidEvent;
    }

    ObjectKind kind;
    if (!kind_of_object(ev->object_type, &kind)) return EventError::None;  // logged, no object state

    Extractor x{doc, error};
    const std::string prefix = "data.object.";
    bool ok = x.row(kind, obj, prefix, *ev, ev->deleted, &ev->rows);
    if (ok && kind == ObjectKind::Charge) ok = x.embedded(obj, "refunds", ObjectKind::Refund, prefix, *ev, &ev->rows);
    if (ok && kind == ObjectKind::Subscription)
        ok = x.embedded(obj, "items", ObjectKind::SubscriptionItem, prefix, *ev, &ev->rows, "subscription",
                        &ev->object_id);
    return ok ? EventError::None : EventError::InvalidEvent;
}

}  // namespace pgstripe
