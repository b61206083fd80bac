// Unit tests of the strict JSON reader (src/core/json.cpp). nlohmann::json::accept is the
// independent oracle: both must agree on every case, except the three documented places where
// this reader is stricter on purpose (a BOM, "\u0000", nesting deeper than kMaxDepth).
#include "json.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace {

using pgstripe::JsonDoc;
using pgstripe::JsonKind;
using namespace std::string_literals;

bool ours(std::string_view s) {
    JsonDoc d;
    return d.parse(s);
}
// nlohmann's lexer takes a NUL byte for the end of the input, so it accepts "1\0garbage"
// (see NlohmannQuirks below). A raw NUL byte is never valid JSON (RFC 8259: not whitespace, and
// a control character inside a string must be escaped), so the oracle refuses it up front.
bool oracle(std::string_view s) { return s.find('\0') == std::string_view::npos && nlohmann::json::accept(s); }

struct Case {
    std::string text;
    bool accept;
};

// Cases on which the reader and nlohmann must both give `accept`.
const std::vector<Case> &agreed_cases() {
    static const std::vector<Case> cases = {
        // scalars at the top level (RFC 8259 allows them)
        {"null", true}, {"true", true}, {"false", true}, {"0", true}, {"-0", true}, {"1", true},
        {"-1", true}, {"123456789012345678901234567890", true}, {"1.5", true}, {"-0.0", true},
        {"1e5", true}, {"1E5", true}, {"1e+5", true}, {"1e-5", true}, {"1.25e-10", true},
        {"0e0", true}, {"1e-400", true}, {"\"\"", true}, {"\"abc\"", true},
        // whitespace
        {" 1 ", true}, {"\t\n\r 1\t\n\r ", true}, {" [ 1 , 2 ] ", true}, {"{ \"a\" : 1 }", true},
        {"\f1", false}, {"1\f", false}, {"\v1", false}, {"\xc2\xa0" "1", false},
        // literals
        {"nul", false}, {"nulll", false}, {"NULL", false}, {"True", false}, {"tru", false},
        {"truefalse", false}, {"fals", false}, {"undefined", false}, {"NaN", false},
        {"Infinity", false}, {"-Infinity", false},
        // numbers
        {"-", false}, {"+1", false}, {"01", false}, {"-01", false}, {"00", false}, {"1.", false},
        {".5", false}, {"-.5", false}, {"1.e5", false}, {"1e", false}, {"1e+", false},
        {"1e-", false}, {"1ee5", false}, {"0x10", false}, {"1_000", false}, {"1.5.5", false},
        {"- 1", false}, {"1 2", false}, {"--1", false}, {"1e5.5", false},
        // strings
        {"\"", false}, {"\"abc", false}, {"abc\"", false}, {"'abc'", false},
        {"\"a\\\"b\"", true}, {"\"\\\\\"", true}, {"\"\\/\"", true}, {"\"\\b\\f\\n\\r\\t\"", true},
        {"\"\\u0041\"", true}, {"\"\\u00e9\\u00C9\"", true}, {"\"\\uffff\"", true},
        {"\"\\u0001\"", true}, {"\"\\u001f\"", true},
        {"\"\\x41\"", false}, {"\"\\a\"", false}, {"\"\\'\"", false}, {"\"\\U0041\"", false},
        {"\"\\u41\"", false}, {"\"\\u004\"", false}, {"\"\\u00g1\"", false}, {"\"\\\"", false},
        {"\"\\", false}, {"\"\\u", false}, {"\"\\u00", false},
        {"\"a\tb\"", false}, {"\"a\nb\"", false}, {"\"a\rb\"", false}, {"\"\x01\"", false},
        {"\"\x1f\"", false}, {"\"\x7f\"", true}, {"\"a\0b\""s, false}, {"\0"s, false}, {"1\0"s, false},
        // surrogates: pairs are fine, lone or misordered halves are not
        {"\"\\ud83d\\ude00\"", true}, {"\"\\uD83D\\uDE00\"", true}, {"\"\\udbff\\udfff\"", true},
        {"\"\\ud800\\udc00\"", true}, {"\"\\ud800\"", false}, {"\"\\udbff\"", false},
        {"\"\\udc00\"", false}, {"\"\\udfff\"", false}, {"\"\\ude00\\ud83d\"", false},
        {"\"\\ud83dx\"", false}, {"\"\\ud83d\\n\"", false}, {"\"\\ud83d\\u0041\"", false},
        {"\"\\ud83d\\ud83d\"", false}, {"\"\\ud83d\\", false}, {"\"\\ud83d\\u", false},
        {"\"\\ud83d\\ude0\"", false},
        // UTF-8 in strings
        {"\"\xc3\xa9\"", true}, {"\"\xe2\x82\xac\"", true}, {"\"\xf0\x9f\x98\x80\"", true},
        {"\"\xf4\x8f\xbf\xbf\"", true}, {"\"\xed\x9f\xbf\"", true}, {"\"\xee\x80\x80\"", true},
        {"\"\xc2\x80\"", true}, {"\"\xdf\xbf\"", true}, {"\"\xe0\xa0\x80\"", true}, {"\"\xef\xbf\xbf\"", true},
        {"\"\xf0\x90\x80\x80\"", true},
        {"\"\x80\"", false}, {"\"\xbf\"", false}, {"\"\xc0\x80\"", false}, {"\"\xc1\xbf\"", false},
        {"\"\xe0\x80\x80\"", false}, {"\"\xe0\x9f\xbf\"", false}, {"\"\xf0\x80\x80\x80\"", false},
        {"\"\xf0\x8f\xbf\xbf\"", false}, {"\"\xed\xa0\x80\"", false}, {"\"\xed\xbf\xbf\"", false},
        {"\"\xf4\x90\x80\x80\"", false}, {"\"\xf5\x80\x80\x80\"", false}, {"\"\xf8\x88\x80\x80\x80\"", false},
        {"\"\xfe\"", false}, {"\"\xff\"", false}, {"\"\xc3\"", false}, {"\"\xc3", false},
        {"\"\xe2\x82\"", false}, {"\"\xf0\x9f\x98\"", false}, {"\"\xc3\x28\"", false},
        {"\"\xe2\x28\xa1\"", false}, {"\"\xf0\x28\x8c\xbc\"", false},
        // non-ASCII outside strings
        {"\xc3\xa9", false}, {"[\xc3\xa9]", false}, {"\xff", false}, {"\xef\xbb", false},
        // arrays
        {"[]", true}, {"[ ]", true}, {"[1]", true}, {"[1,2,3]", true}, {"[[]]", true},
        {"[[],[[]],{}]", true}, {"[null,true,false,\"x\",1.5,{},[]]", true},
        {"[", false}, {"]", false}, {"[1", false}, {"[1,", false}, {"[1,]", false}, {"[,1]", false},
        {"[,]", false}, {"[1 2]", false}, {"[1;2]", false}, {"[1]]", false}, {"[[1]", false},
        {"[1,,2]", false}, {"[1]x", false}, {"[1] [2]", false},
        // objects
        {"{}", true}, {"{ }", true}, {"{\"a\":1}", true}, {"{\"a\":1,\"b\":[1,{\"c\":null}]}", true},
        {"{\"\":0}", true}, {"{\"a\":1,\"a\":2}", true}, {"{\"\\u0061\":1}", true},
        {"{\"\\ud83d\\ude00\":1}", true},
        {"{", false}, {"}", false}, {"{\"a\"}", false}, {"{\"a\":}", false}, {"{\"a\" 1}", false},
        {"{a:1}", false}, {"{'a':1}", false}, {"{1:1}", false}, {"{\"a\":1,}", false},
        {"{,\"a\":1}", false}, {"{\"a\":1\"b\":2}", false}, {"{\"a\":1;\"b\":2}", false},
        {"{\"a\"::1}", false}, {"{\"a\":1}}", false}, {"{\"a\":1", false}, {"{\"a\":", false},
        {"{\"a\"", false}, {"{\"a", false}, {"{\"\\ud800\":1}", false}, {"{\"\xff\":1}", false},
        {"{null:1}", false}, {"{\"a\":1 \"b\":2}", false},
        // empty and trailing input
        {"", false}, {" ", false}, {"\n\t", false}, {"{}x", false}, {"{} {}", false}, {"1 1", false},
        {"//c\n{}", false}, {"{}//c", false}, {"/*c*/{}", false}, {"{}/**/", false},
    };
    return cases;
}

TEST(JsonAccept, AgreesWithNlohmann) {
    int n = 0;
    for (const auto &c : agreed_cases()) {
        SCOPED_TRACE(testing::PrintToString(c.text));
        EXPECT_EQ(ours(c.text), c.accept);
        EXPECT_EQ(oracle(c.text), c.accept);  // the expectation itself is checked by the oracle
        n++;
    }
    EXPECT_GT(n, 200);
}

TEST(JsonAccept, RealEventAgrees) {
    const std::string event = R"({
  "id": "evt_3PgafTB7WZ01zgkW0abcdEFG",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1721800000,
  "data": {"object": {"id": "ch_1", "object": "charge", "amount": 2000, "amount_captured": 2000,
    "currency": "usd", "metadata": {}, "outcome": {"network_status": "approved_by_network",
    "reason": null, "risk_level": "normal", "risk_score": 32, "seller_message": "Payment complete.",
    "type": "authorized"}, "paid": true, "refunds": {"data": [], "has_more": false, "object": "list",
    "url": "/v1/charges/ch_1/refunds"}, "description": "Caf\u00e9 \u2615 \ud83d\ude00 \"quoted\"",
    "fraud_details": {}, "amount_refunded": 0, "livemode": false, "status": "succeeded",
    "balance": -1.5e-3}},
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null},
  "type": "charge.succeeded"
})";
    EXPECT_TRUE(ours(event));
    EXPECT_TRUE(oracle(event));
    // Every strict prefix of it is incomplete.
    for (size_t i = 0; i < event.size() - 1; i += 7) {
        std::string_view prefix(event.data(), i);
        EXPECT_FALSE(ours(prefix)) << i;
    }
}

// Where nlohmann itself is not a faithful oracle (so the differential fuzzer allows for it).

TEST(NlohmannQuirks, NulByteEndsItsInput) {
    EXPECT_TRUE(nlohmann::json::accept("1\0garbage"s));
    EXPECT_TRUE(nlohmann::json::accept("{}\0{"s));
    EXPECT_FALSE(ours("1\0garbage"s));
    EXPECT_FALSE(ours("{}\0{"s));
    EXPECT_FALSE(ours("{}\0"s));
}

TEST(NlohmannQuirks, NumbersBeyondDoubleAreValidJson) {
    // RFC 8259 sets no range; jsonb stores these as numeric. nlohmann parses numbers into double
    // and refuses an infinite result (out_of_range.406), so it is no oracle for them.
    for (const char *s : {"1e400", "-1e400", "[1.5e309]", "{\"amount\":1E+999}"}) {
        EXPECT_TRUE(ours(s)) << s;
        EXPECT_FALSE(nlohmann::json::accept(s)) << s;
        try {
            auto j = nlohmann::json::parse(s);
            (void)j;
            ADD_FAILURE() << s;
        } catch (const nlohmann::json::out_of_range &e) {
            EXPECT_EQ(e.id, 406) << s;
        }
    }
}

// The three places where the reader is stricter than nlohmann, on purpose.

TEST(JsonStricter, ByteOrderMarkRejected) {
    const std::string bom = "\xef\xbb\xbf";
    for (const std::string &body : {"{}"s, "{\"a\":1}"s, "[1]"s, "1"s}) {
        JsonDoc d;
        EXPECT_FALSE(d.parse(bom + body));
        EXPECT_NE(d.error().find("byte order mark"), std::string::npos) << d.error();
        EXPECT_TRUE(oracle(bom + body));  // nlohmann skips a leading BOM
        EXPECT_TRUE(ours(body));
    }
    EXPECT_FALSE(ours(" " + bom + "{}"));
    EXPECT_FALSE(ours(bom));
    EXPECT_FALSE(ours("[" + bom + "]"));
    EXPECT_FALSE(oracle("[" + bom + "]"));
}

TEST(JsonStricter, NulEscapeRejected) {
    for (const std::string &s : {"\"\\u0000\""s, "{\"a\":\"x\\u0000y\"}"s, "{\"\\u0000\":1}"s, "[\"\\u0000\"]"s}) {
        JsonDoc d;
        EXPECT_FALSE(d.parse(s)) << s;
        EXPECT_NE(d.error().find("\\u0000"), std::string::npos) << d.error();
        EXPECT_TRUE(oracle(s)) << s;  // valid JSON; jsonb would refuse it
    }
    EXPECT_TRUE(ours("\"\\u0001\""));
    EXPECT_TRUE(ours("\"\\u0100\""));
    EXPECT_TRUE(ours("\"\\u1000\""));
}

std::string nested(int depth, const std::string &open, const std::string &close, const std::string &inner = "") {
    std::string s;
    s.reserve(depth * (open.size() + close.size()) + inner.size());
    for (int i = 0; i < depth; i++) s += open;
    s += inner;
    for (int i = 0; i < depth; i++) s += close;
    return s;
}

TEST(JsonStricter, DepthLimit) {
    const int max = JsonDoc::kMaxDepth;
    ASSERT_EQ(max, 128);
    EXPECT_TRUE(ours(nested(max, "[", "]")));
    EXPECT_TRUE(ours(nested(max, "[", "]", "1")));
    EXPECT_TRUE(ours(nested(max - 1, "{\"a\":", "}", "{}")));
    EXPECT_TRUE(ours(nested(max, "{\"a\":", "}", "1")));
    EXPECT_TRUE(ours(nested(max / 2, "[{\"k\":", "}]", "1")));
    {
        JsonDoc d;
        EXPECT_FALSE(d.parse(nested(max + 1, "[", "]")));
        EXPECT_NE(d.error().find("nested too deeply"), std::string::npos) << d.error();
    }
    EXPECT_FALSE(ours(nested(max, "{\"a\":", "}", "{}")));
    EXPECT_FALSE(ours(nested(max, "{\"a\":", "}", "[]")));
    EXPECT_FALSE(ours(nested(max / 2 + 1, "[{\"k\":", "}]", "1")));
    EXPECT_TRUE(oracle(nested(max + 1, "[", "]")));  // nlohmann has no limit
    // Hostile depth: rejected quickly, without exhausting the stack.
    for (int depth : {200000, 1000000}) {
        EXPECT_FALSE(ours(std::string(depth, '[')));
        EXPECT_FALSE(ours(nested(depth, "[", "]")));
        EXPECT_FALSE(ours(nested(depth / 5, "{\"a\":", "}", "1")));
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(JsonError, MessageHasOffset) {
    JsonDoc d;
    EXPECT_FALSE(d.parse("{\"a\":1,}"));
    EXPECT_NE(d.error().find("at byte 7"), std::string::npos) << d.error();
    EXPECT_FALSE(d.parse("  x"));
    EXPECT_NE(d.error().find("at byte 2"), std::string::npos) << d.error();
    EXPECT_FALSE(d.parse("\"\xff\""));
    EXPECT_NE(d.error().find("invalid UTF-8"), std::string::npos) << d.error();
    EXPECT_FALSE(d.parse("\"\\ud800\""));
    EXPECT_NE(d.error().find("surrogate"), std::string::npos) << d.error();
    // A later successful parse clears the error.
    EXPECT_TRUE(d.parse("{}"));
    EXPECT_EQ(d.error(), "");
}

// ---------------------------------------------------------------------------------------------
// The tree

TEST(JsonTree, KindsAndText) {
    JsonDoc d;
    const std::string src = R"( {"n":null,"t":true,"f":false,"i":-12.5e3,"s":"a\nb","a":[1,2],"o":{"x":1}} )";
    ASSERT_TRUE(d.parse(src));
    auto root = d.root();
    EXPECT_EQ(d.node(root).kind, JsonKind::Object);
    EXPECT_EQ(d.node(root).text, R"({"n":null,"t":true,"f":false,"i":-12.5e3,"s":"a\nb","a":[1,2],"o":{"x":1}})");
    EXPECT_EQ(d.node(d.member(root, "n")).kind, JsonKind::Null);
    EXPECT_EQ(d.node(d.member(root, "t")).kind, JsonKind::True);
    EXPECT_EQ(d.node(d.member(root, "f")).kind, JsonKind::False);
    EXPECT_EQ(d.node(d.member(root, "i")).kind, JsonKind::Number);
    EXPECT_EQ(d.node(d.member(root, "i")).text, "-12.5e3");
    EXPECT_EQ(d.node(d.member(root, "s")).kind, JsonKind::String);
    EXPECT_EQ(d.node(d.member(root, "s")).text, "a\\nb");  // raw
    EXPECT_TRUE(d.node(d.member(root, "s")).has_escape);
    EXPECT_EQ(d.string_value(d.member(root, "s")), "a\nb");
    auto a = d.member(root, "a");
    EXPECT_EQ(d.node(a).kind, JsonKind::Array);
    EXPECT_EQ(d.node(a).text, "[1,2]");
    auto first = d.node(a).first_child;
    ASSERT_NE(first, 0u);
    EXPECT_EQ(d.node(first).text, "1");
    auto second = d.node(first).next_sibling;
    ASSERT_NE(second, 0u);
    EXPECT_EQ(d.node(second).text, "2");
    EXPECT_EQ(d.node(second).next_sibling, 0u);
    EXPECT_EQ(d.node(d.member(root, "o")).text, "{\"x\":1}");
    EXPECT_EQ(d.node(d.member(root, "o")).kind, JsonKind::Object);
    EXPECT_EQ(d.node(d.path(root, "o.x")).text, "1");
}

TEST(JsonTree, EmptyContainersHaveNoChildren) {
    JsonDoc d;
    ASSERT_TRUE(d.parse("{\"a\":{},\"b\":[]}"));
    EXPECT_EQ(d.node(d.member(d.root(), "a")).first_child, 0u);
    EXPECT_EQ(d.node(d.member(d.root(), "b")).first_child, 0u);
}

TEST(JsonTree, MemberLastWins) {
    JsonDoc d;
    ASSERT_TRUE(d.parse(R"({"a":1,"b":2,"a":3,"\u0061":4,"c":5})"));
    auto m = d.member(d.root(), "a");
    ASSERT_NE(m, 0u);
    EXPECT_EQ(d.node(m).text, "4");  // "\u0061" is "a": the last one wins, as in jsonb
    EXPECT_EQ(d.node(d.member(d.root(), "b")).text, "2");
    EXPECT_EQ(d.member(d.root(), "z"), 0u);
    EXPECT_EQ(d.member(d.root(), ""), 0u);
    EXPECT_EQ(d.member(d.root(), "A"), 0u);
    EXPECT_EQ(d.member(d.root(), "\\u0061"), 0u);  // the lookup name is not an escape
    ASSERT_TRUE(d.parse(R"({"a":1,"a":{"x":2}})"));
    EXPECT_EQ(d.node(d.path(d.root(), "a.x")).text, "2");
    ASSERT_TRUE(d.parse(R"({"a":{"x":2},"a":1})"));
    EXPECT_EQ(d.path(d.root(), "a.x"), 0u);
}

TEST(JsonTree, MemberOfNonObjectIsAbsent) {
    JsonDoc d;
    ASSERT_TRUE(d.parse(R"([{"a":1}])"));
    EXPECT_EQ(d.member(d.root(), "a"), 0u);
    ASSERT_TRUE(d.parse(R"("a")"));
    EXPECT_EQ(d.member(d.root(), "a"), 0u);
    EXPECT_EQ(d.member(12345, "a"), 0u);  // out of range
}

TEST(JsonTree, Path) {
    JsonDoc d;
    ASSERT_TRUE(d.parse(R"({"data":{"object":{"id":"ch_1","payment_method_details":{"card":{"brand":"visa"}},
                            "list":[{"a":1}],"s":"str","":{"":7}}},"type":"charge.succeeded"})"));
    auto r = d.root();
    EXPECT_EQ(d.string_value(d.path(r, "data.object.payment_method_details.card.brand")), "visa");
    EXPECT_EQ(d.string_value(d.path(r, "data.object.id")), "ch_1");
    EXPECT_EQ(d.string_value(d.path(r, "type")), "charge.succeeded");
    EXPECT_EQ(d.path(r, "data"), d.member(r, "data"));
    EXPECT_EQ(d.path(r, "data.object.missing"), 0u);
    EXPECT_EQ(d.path(r, "missing.object"), 0u);
    EXPECT_EQ(d.path(r, "data.object.s.x"), 0u);      // through a string
    EXPECT_EQ(d.path(r, "data.object.list.a"), 0u);   // through an array
    EXPECT_EQ(d.path(r, "data.object.list.0"), 0u);   // no array indexing
    EXPECT_EQ(d.path(r, "data..object"), 0u);
    EXPECT_EQ(d.node(d.path(r, "data.object..")).text, "7");  // empty names are names
}

TEST(JsonTree, StringValueUnescaping) {
    struct {
        const char *json;
        std::string want;
    } cases[] = {
        {R"("plain")", "plain"},
        {R"("")", ""},
        {R"("\"\\\/\b\f\n\r\t")", "\"\\/\b\f\n\r\t"},
        {R"("\u0041\u00e9\u20ac")", "A\xc3\xa9\xe2\x82\xac"},
        {R"("\u00E9\u00e9")", "\xc3\xa9\xc3\xa9"},
        {R"("\u0001")", "\x01"},
        {R"("\u007f\u0080\u07ff\u0800\uffff")", "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"},
        {R"("\ud83d\ude00")", "\xf0\x9f\x98\x80"},
        {R"("\ud800\udc00")", "\xf0\x90\x80\x80"},
        {R"("\udbff\udfff")", "\xf4\x8f\xbf\xbf"},
        {R"("a\ud83d\ude00b\n")", "a\xf0\x9f\x98\x80" "b\n"},
        {"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xf0\x9f\x98\x80"},
        {R"("\\u0041")", "\\u0041"},
        {R"("\\\\")", "\\\\"},
    };
    for (const auto &c : cases) {
        JsonDoc d;
        ASSERT_TRUE(d.parse(c.json)) << c.json << ": " << d.error();
        EXPECT_EQ(d.string_value(d.root()), c.want) << c.json;
        EXPECT_TRUE(pgstripe::valid_utf8(d.string_value(d.root()))) << c.json;
        // The oracle decodes the same string.
        EXPECT_EQ(nlohmann::json::parse(c.json).get<std::string>(), c.want) << c.json;
    }
}

TEST(JsonTree, EscapedKeysAreUnescapedForLookup) {
    JsonDoc d;
    ASSERT_TRUE(d.parse(R"({"a\"b":1,"\u00e9":2,"\ud83d\ude00":3,"t\tab":4})"));
    EXPECT_EQ(d.node(d.member(d.root(), "a\"b")).text, "1");
    EXPECT_EQ(d.node(d.member(d.root(), "\xc3\xa9")).text, "2");
    EXPECT_EQ(d.node(d.member(d.root(), "\xf0\x9f\x98\x80")).text, "3");
    EXPECT_EQ(d.node(d.member(d.root(), "t\tab")).text, "4");
}

TEST(JsonTree, ReparseResetsTheTree) {
    JsonDoc d;
    ASSERT_TRUE(d.parse(R"({"a":{"b":[1,2,3]}})"));
    ASSERT_TRUE(d.parse(R"({"c":1})"));
    EXPECT_EQ(d.member(d.root(), "a"), 0u);
    EXPECT_EQ(d.node(d.member(d.root(), "c")).text, "1");
    // A parse that fails half-way, then a good one.
    EXPECT_FALSE(d.parse(R"({"a":[1,2,)"));
    ASSERT_TRUE(d.parse("[]"));
    EXPECT_EQ(d.node(d.root()).kind, JsonKind::Array);
    EXPECT_EQ(d.node(d.root()).first_child, 0u);
}

// ---------------------------------------------------------------------------------------------
// UTF-8 validation helper

TEST(Utf8, Valid) {
    for (const std::string &s : {""s, "abc"s, "\0"s, "\xc2\x80"s, "\xdf\xbf"s, "\xe0\xa0\x80"s, "\xed\x9f\xbf"s,
                                 "\xee\x80\x80"s, "\xef\xbf\xbf"s, "\xf0\x90\x80\x80"s, "\xf4\x8f\xbf\xbf"s,
                                 "caf\xc3\xa9"s})
        EXPECT_TRUE(pgstripe::valid_utf8(s)) << testing::PrintToString(s);
}

TEST(Utf8, Invalid) {
    for (const std::string &s :
         {"\x80"s, "\xbf"s, "\xc0\x80"s, "\xc1\xbf"s, "\xc2"s, "\xc2\x41"s, "\xe0\x80\x80"s, "\xe0\x9f\xbf"s,
          "\xed\xa0\x80"s, "\xed\xbf\xbf"s, "\xe2\x82"s, "\xf0\x8f\xbf\xbf"s, "\xf4\x90\x80\x80"s, "\xf5\x80\x80\x80"s,
          "\xf8\x88\x80\x80\x80"s, "\xfc\x84\x80\x80\x80\x80"s, "\xfe"s, "\xff"s, "a\xc3"s, "\xef\xbb"s})
        EXPECT_FALSE(pgstripe::valid_utf8(s)) << testing::PrintToString(s);
}

// Every single byte and every two-byte string: the reader agrees with the oracle inside a string.
TEST(Utf8, ExhaustiveShortStringsAgreeWithNlohmann) {
    int disagreements = 0;
    for (int a = 0; a < 256; a++)
        for (int b = -1; b < 256; b++) {
            std::string s = "\"";
            s += char(a);
            if (b >= 0) s += char(b);
            s += '"';
            bool mine = ours(s), theirs = oracle(s);
            // "\"" + '\\' + ... can form an escape; both sides must still agree.
            if (mine != theirs) {
                ADD_FAILURE() << testing::PrintToString(s) << " ours=" << mine << " nlohmann=" << theirs;
                if (++disagreements > 10) return;
            }
        }
}

}  // namespace
