// Module entry: PG_MODULE_MAGIC and settings. Everything exported stays inside extern "C",
// or the C++ compiler would mangle the names Postgres looks up.
#include "guard.hpp"

extern "C" {
#include "utils/guc.h"

PG_MODULE_MAGIC;

void _PG_init(void);
}

namespace pgs {
char *reporting_timezone = nullptr;
int max_payload_bytes = 1024 * 1024;
int rejected_body_prefix = 1024;
}  // namespace pgs

extern "C" void _PG_init(void) {
    DefineCustomStringVariable("stripe.timezone",
                               "Reporting time zone of pg_stripe's daily, weekly and monthly figures.",
                               "Any time zone name PostgreSQL accepts, e.g. Asia/Seoul. Buckets are calendar "
                               "days in this zone.",
                               &pgs::reporting_timezone, "UTC", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("stripe.max_payload_bytes",
                            "Largest webhook body stripe.ingest accepts; larger ones are rejected unread.", nullptr,
                            &pgs::max_payload_bytes, 1024 * 1024, 1024, 64 * 1024 * 1024, PGC_SUSET, GUC_UNIT_BYTE,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable("stripe.rejected_body_prefix",
                            "How many bytes of a rejected body are kept for diagnosis.", nullptr,
                            &pgs::rejected_body_prefix, 1024, 0, 64 * 1024, PGC_SUSET, GUC_UNIT_BYTE, nullptr,
                            nullptr, nullptr);
    MarkGUCPrefixReserved("stripe");
}
