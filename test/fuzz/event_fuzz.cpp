// libFuzzer target for the event extractor (src/core/event.cpp): any body, never a crash, and the
// invariants the Postgres layer relies on when it maps rows onto tables.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "event.hpp"
#include "json.hpp"

namespace {
void check(bool ok, const char *what) {
    if (!ok) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view body(reinterpret_cast<const char *>(data), size);
    pgstripe::JsonDoc doc;
    pgstripe::Event ev;
    std::string error;
    pgstripe::EventError e = pgstripe::extract_event(body, doc, &ev, &error);
    if (e != pgstripe::EventError::None) {
        check(!error.empty(), "a failure has a reason");
        return 0;
    }
    check(!ev.id.empty() && !ev.type.empty(), "an accepted event has an id and a type");
    check(pgstripe::valid_utf8(ev.id) && pgstripe::valid_utf8(ev.type), "id and type are UTF-8");
    for (const auto &row : ev.rows) {
        check(!row.cols.empty() && std::strcmp(row.cols[0].name, "id") == 0, "a row starts with its id");
        check(!row.cols[0].value.null && !row.cols[0].value.s.empty(), "a row's id is not empty");
        for (const auto &c : row.cols) {
            if (c.value.null) continue;
            if (c.value.type == pgstripe::ColType::Text) check(pgstripe::valid_utf8(c.value.s), "text is UTF-8");
            if (c.value.type == pgstripe::ColType::Json) {
                // The slice stored as the object's json must itself be a JSON object.
                pgstripe::JsonDoc sub;
                check(sub.parse(c.value.raw) && sub.node(sub.root()).kind == pgstripe::JsonKind::Object,
                      "data is a JSON object");
            }
            if (std::strcmp(c.name, "currency") == 0) {
                check(c.value.s.size() == 3, "currency has three letters");
                for (char ch : c.value.s) check(ch >= 'a' && ch <= 'z', "currency is lowercase");
            }
        }
    }
    return 0;
}
