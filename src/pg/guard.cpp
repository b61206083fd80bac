#include "guard.hpp"

namespace pgs {

void copy_bounded(char *dst, size_t cap, const char *src) noexcept {
    size_t i = 0;
    if (src)
        for (; i + 1 < cap && src[i]; i++) dst[i] = src[i];
    dst[i] = '\0';
}

void raise_pending(const PendingError &e) {
    if (e.edata) ReThrowError(e.edata);
    ereport(ERROR, (errcode(e.sqlstate), errmsg("%s", e.message),
                    e.detail[0] ? errdetail("%s", e.detail) : 0, e.hint[0] ? errhint("%s", e.hint) : 0));
    pg_unreachable();
}

}  // namespace pgs
