// stripe._rfm_cuts_of(bigint | timestamptz): the aggregate behind stripe._rfm_cuts
// (src/sql/30_analytics.sql) -- a partition's values at the ranks T(2..5, n) that decide every
// customer_rfm score, computed by the pure core (src/core/rfm.cpp) in O(n).
//
// Sorting every partition's values (array_agg ... ORDER BY) cost a sort of all paying customers
// by partition, spilled to disk at 500k customers, and then one sort per partition and
// dimension. This aggregate only collects the values (hash aggregation: there are few
// partitions) and selects the four ranks at the end.
//
// The transition function runs once per customer and dimension, so it is plain C calling only
// Postgres (no C++ object is alive when palloc may raise, so no guard is needed: see guard.hpp);
// the final function calls the core, which allocates nothing and never throws (noexcept).
#include "../core/rfm.hpp"
#include "pg_util.hpp"

extern "C" {
#include "fmgr.h"
#include "utils/memutils.h"
}

namespace {

// The values of one group, in the aggregate's memory context.
struct CutState {
    int64 *values;
    int64 n, cap;
};

Datum cuts_final(FunctionCallInfo fcinfo, Oid elemtype) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    CutState *s = reinterpret_cast<CutState *>(PG_GETARG_POINTER(0));
    int64_t cuts[4];
    if (!pgstripe::rfm_cuts(reinterpret_cast<int64_t *>(s->values), s->n, cuts)) PG_RETURN_NULL();
    Datum elems[4];
    for (int i = 0; i < 4; i++) elems[i] = Int64GetDatum(cuts[i]);  // bigint and timestamptz alike
    PG_RETURN_ARRAYTYPE_P(construct_array(elems, 4, elemtype, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(pg_stripe_rfm_cuts_trans);
PG_FUNCTION_INFO_V1(pg_stripe_rfm_cuts_final_bigint);
PG_FUNCTION_INFO_V1(pg_stripe_rfm_cuts_final_timestamptz);

// (state internal, value bigint | timestamptz) -> internal. Not STRICT in SQL (the state starts
// NULL and is made here); NULL values are skipped.
Datum pg_stripe_rfm_cuts_trans(PG_FUNCTION_ARGS) {
    MemoryContext aggcontext;
    if (!AggCheckCallContext(fcinfo, &aggcontext)) elog(ERROR, "stripe._rfm_cuts_of called outside an aggregate");
    CutState *s = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<CutState *>(PG_GETARG_POINTER(0));
    if (s == nullptr) {
        s = static_cast<CutState *>(MemoryContextAlloc(aggcontext, sizeof(CutState)));
        s->cap = 1024;
        s->n = 0;
        s->values = static_cast<int64 *>(MemoryContextAlloc(aggcontext, s->cap * sizeof(int64)));
    }
    if (!PG_ARGISNULL(1)) {
        if (s->n == s->cap) {  // doubling; huge: a partition may pass 1 GB (128M customers)
            s->cap *= 2;
            s->values = static_cast<int64 *>(repalloc_huge(s->values, s->cap * sizeof(int64)));
        }
        s->values[s->n++] = PG_GETARG_INT64(1);
    }
    PG_RETURN_POINTER(s);
}

Datum pg_stripe_rfm_cuts_final_bigint(PG_FUNCTION_ARGS) { return cuts_final(fcinfo, INT8OID); }
Datum pg_stripe_rfm_cuts_final_timestamptz(PG_FUNCTION_ARGS) { return cuts_final(fcinfo, TIMESTAMPTZOID); }

}  // extern "C"
