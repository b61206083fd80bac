// libFuzzer target: the strict JSON reader (src/core/json.cpp) against nlohmann::json.
//
// Invariants (any violation aborts, which libFuzzer reports as a crash):
//  1. JsonDoc::parse accepts  =>  nlohmann accepts too, except for numbers beyond double's range,
//     which nlohmann refuses with out_of_range.406 (RFC 8259 sets no range; jsonb takes them).
//  2. ... and both read the same tree: kinds, array lengths, member names (last duplicate wins,
//     as in jsonb and in nlohmann's std::map), decoded strings.
//  3. Every decoded string and member name is valid UTF-8 without a NUL byte (so it casts to jsonb).
//  4. nlohmann accepts but JsonDoc rejects  =>  only for the deliberate strictness: a BOM,
//     "\u0000", nesting deeper than JsonDoc::kMaxDepth; or a raw NUL byte, which nlohmann takes for
//     the end of its input.
#include "json.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using json = nlohmann::json;
using pgstripe::JsonDoc;
using pgstripe::JsonKind;

[[noreturn]] void fail(const char *what, std::string_view input) {
    std::fprintf(stderr, "json_fuzz invariant violated: %s\ninput (%zu bytes): %.*s\n", what, input.size(),
                 static_cast<int>(input.size() > 2000 ? 2000 : input.size()), input.data());
    std::abort();
}

// Records why nlohmann refused a document, without building a DOM.
struct ErrorSax : json::json_sax_t {
    int error_id = 0;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t &) override { return true; }
    bool string(string_t &) override { return true; }
    bool binary(binary_t &) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t &) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &ex) override {
        error_id = ex.id;
        return false;
    }
};

bool has_number_beyond_double(std::string_view in) {
    // Only reached when JsonDoc accepted, i.e. the input is valid RFC 8259 JSON.
    ErrorSax sax;
    bool ok = json::sax_parse(in, &sax);
    return !ok && sax.error_id == 406;
}

void check_string(const std::string &s, std::string_view input) {
    if (!pgstripe::valid_utf8(s)) fail("decoded string is not valid UTF-8", input);
    if (s.find('\0') != std::string::npos) fail("decoded string contains NUL", input);
}

// Every string and member name of JsonDoc's tree decodes to valid UTF-8 without NUL.
void check_strings(const JsonDoc &doc, uint32_t i, std::string_view input) {
    const pgstripe::JsonNode &n = doc.node(i);
    if (n.kind == JsonKind::String) check_string(doc.string_value(i), input);
    for (uint32_t c = n.first_child; c; c = doc.node(c).next_sibling) {
        const pgstripe::JsonNode &m = doc.node(c);
        if (n.kind == JsonKind::Object)
            check_string(m.key_has_escape ? pgstripe::json_unescape(m.key) : std::string(m.key), input);
        check_strings(doc, c, input);
    }
}

// Walks JsonDoc's tree and nlohmann's DOM side by side.
void compare(const JsonDoc &doc, uint32_t i, const json &j, std::string_view input) {
    const pgstripe::JsonNode &n = doc.node(i);
    switch (n.kind) {
        case JsonKind::Null:
            if (!j.is_null()) fail("kind differs (null)", input);
            break;
        case JsonKind::True:
        case JsonKind::False:
            if (!j.is_boolean() || j.get<bool>() != (n.kind == JsonKind::True)) fail("boolean differs", input);
            break;
        case JsonKind::Number:
            if (!j.is_number()) fail("kind differs (number)", input);
            break;
        case JsonKind::String: {
            if (!j.is_string()) fail("kind differs (string)", input);
            std::string s = doc.string_value(i);
            check_string(s, input);
            if (s != j.get_ref<const std::string &>()) fail("decoded string differs", input);
            break;
        }
        case JsonKind::Array: {
            if (!j.is_array()) fail("kind differs (array)", input);
            size_t k = 0;
            for (uint32_t c = n.first_child; c; c = doc.node(c).next_sibling, k++) {
                if (k >= j.size()) fail("array longer than nlohmann's", input);
                compare(doc, c, j[k], input);
            }
            if (k != j.size()) fail("array length differs", input);
            break;
        }
        case JsonKind::Object: {
            if (!j.is_object()) fail("kind differs (object)", input);
            for (uint32_t c = n.first_child; c; c = doc.node(c).next_sibling) {
                const pgstripe::JsonNode &m = doc.node(c);
                std::string key = m.key_has_escape ? pgstripe::json_unescape(m.key) : std::string(m.key);
                check_string(key, input);
                if (!j.contains(key)) fail("member missing in nlohmann's object", input);
                uint32_t winner = doc.member(i, key);
                if (winner == 0) fail("member() does not find a parsed member", input);
            }
            // Same set of names; the last duplicate is the value both keep.
            for (auto it = j.begin(); it != j.end(); ++it) {
                uint32_t c = doc.member(i, it.key());
                if (c == 0) fail("nlohmann member missing in JsonDoc", input);
                compare(doc, c, it.value(), input);
            }
            break;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view in(reinterpret_cast<const char *>(data), size);
    JsonDoc doc;
    bool mine = doc.parse(in);
    if (mine) {
        check_strings(doc, doc.root(), in);
        // Node spans lie inside the input.
        const pgstripe::JsonNode &root = doc.node(doc.root());
        if (root.text.data() < in.data() || root.text.data() + root.text.size() > in.data() + in.size())
            fail("root span outside the input", in);
        if (!json::accept(in)) {
            if (!has_number_beyond_double(in)) fail("JsonDoc accepted what nlohmann rejects", in);
            return 0;  // nlohmann cannot build this DOM
        }
        json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded()) fail("nlohmann accept/parse disagree", in);
        compare(doc, doc.root(), j, in);
    } else if (json::accept(in) && in.find('\0') == std::string_view::npos) {
        const std::string &e = doc.error();
        bool deliberate = e.find("byte order mark") != std::string::npos ||
                          e.find("\\u0000") != std::string::npos || e.find("nested too deeply") != std::string::npos;
        if (!deliberate) fail(("JsonDoc rejected what nlohmann accepts: " + e).c_str(), in);
    }
    return 0;
}
