// Module entry: PG_MODULE_MAGIC and settings. Everything exported stays inside extern "C",
// or the C++ compiler would mangle the names Postgres looks up.
#include "guard.hpp"

extern "C" {
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void _PG_init(void);
}

namespace pgs {
char *reporting_timezone = nullptr;
int max_payload_bytes = 1024 * 1024;
int rejected_body_prefix = 1024;
}  // namespace pgs

// The canonical spelling of a time zone name ('asia/seoul' -> 'Asia/Seoul', the zone file's own
// name), or nullptr for a zone PostgreSQL does not know. The setting and stripe.reporting_zones
// both keep names this way: otherwise a zone that is rolled up would be computed again for every
// other spelling.
static const char *canonical_zone(const char *name) {
    pg_tz *tz = *name ? pg_tzset(name) : nullptr;
    return tz ? pg_get_timezone_name(tz) : nullptr;
}

// stripe.timezone must name a time zone PostgreSQL knows, checked when it is set (an unknown
// zone would otherwise surface later, as an error of every view), and is kept canonical. No C++
// object lives here: GUC hooks are called by Postgres and may be followed by an ereport of its own.
static bool check_reporting_timezone(char **newval, void **, GucSource) {
    if (*newval == nullptr || **newval == '\0') return true;  // empty means UTC
    const char *canon = canonical_zone(*newval);
    if (canon == nullptr) {
        GUC_check_errdetail("\"%s\" is not a time zone name PostgreSQL knows (see pg_timezone_names).", *newval);
        return false;
    }
    if (strcmp(canon, *newval) != 0) {
#if PG_VERSION_NUM >= 160000
        char *c = guc_strdup(LOG, canon);
        if (c == nullptr) return false;
        guc_free(*newval);
#else
        char *c = strdup(canon);  // GUC strings are malloc'd before PostgreSQL 16
        if (c == nullptr) return false;
        free(*newval);
#endif
        *newval = c;
    }
    return true;
}

extern "C" void _PG_init(void) {
    DefineCustomStringVariable("stripe.timezone",
                               "Reporting time zone of pg_stripe's daily, weekly and monthly figures.",
                               "Any time zone name PostgreSQL accepts, e.g. Asia/Seoul. Buckets are calendar "
                               "days in this zone.",
                               &pgs::reporting_timezone, "UTC", PGC_USERSET, 0, check_reporting_timezone, nullptr,
                               nullptr);
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

extern "C" {
/*
 * stripe._zone_name(zone text) RETURNS text: the canonical spelling of a time zone name, as the
 * setting keeps it; an unknown zone raises 22023. No C++ object lives here (ereport).
 */
PG_FUNCTION_INFO_V1(pg_stripe_zone_name);
Datum pg_stripe_zone_name(PG_FUNCTION_ARGS) {
    char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
    const char *canon = canonical_zone(name);
    if (canon == nullptr)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("time zone \"%s\" not recognized", name)));
    PG_RETURN_TEXT_P(cstring_to_text(canon));
}

/*
 * stripe.reporting_timezone() RETURNS text: the setting stripe.timezone, 'UTC' when empty. A C
 * function so that reading it loads this library first, which checks a value SET before the
 * library was loaded (an unknown zone is then replaced by the default, with a WARNING).
 */
PG_FUNCTION_INFO_V1(pg_stripe_reporting_timezone);
Datum pg_stripe_reporting_timezone(PG_FUNCTION_ARGS) {
    const char *tz = pgs::reporting_timezone;
    PG_RETURN_TEXT_P(cstring_to_text(tz && *tz ? tz : "UTC"));
}
}
