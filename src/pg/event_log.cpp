// The event log's insert, done through the table access method instead of an SQL statement.
//
// Why: every delivery logs its event, and with SPI that one INSERT ... ON CONFLICT (id) DO NOTHING
// cost about 20 us of an event's ~75 (bulk) -- more than the heap and index work itself: plan
// revalidation, executor start-up, portal and snapshot bookkeeping, per statement. Logical
// replication's apply worker writes rows the same way (ExecSimpleRelationInsert); this follows
// nodeModifyTable.c's ExecInsert for ON CONFLICT DO NOTHING step by step (pre-check, speculative
// insertion, recheck), so duplicates and concurrent deliveries behave as the statement did.
//
// Only for the table as the extension creates it: if stripe.events has triggers, rules, CHECK
// constraints, columns of its own, forced row security, or the caller may not INSERT, this
// answers "not here" and the caller runs the SQL statement (which then does all of that).
//
// Plain C calls only: callers run it inside pg_call (see guard.hpp).
#include "event_log.hpp"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
}

namespace {

// The columns, in the order of the caller's values; received_at and seq are filled here.
constexpr int kCols = 12;
const char *const kNames[kCols] = {"id",          "type",     "created", "livemode", "account",     "api_version",
                                   "object_type", "object_id", "endpoint", "body",    "received_at", "seq"};
const Oid kTypes[kCols] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, BOOLOID, TEXTOID,        TEXTOID,
                           TEXTOID, TEXTOID, TEXTOID,        JSONOID, TIMESTAMPTZOID, INT8OID};
constexpr int kReceivedAt = 10, kSeq = 11;

// Finds our twelve columns in the table's current descriptor (attribute numbers move when a
// column is dropped and re-added). False if any is missing, has another type, or the table has
// a column of its own (whose default or constraint only the statement would apply).
bool map_columns(TupleDesc desc, AttrNumber *attno) {
    int live = 0;
    for (int k = 0; k < kCols; k++) attno[k] = InvalidAttrNumber;
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (a->attisdropped) continue;
        live++;
        int k = 0;
        while (k < kCols && strcmp(NameStr(a->attname), kNames[k]) != 0) k++;
        if (k == kCols || a->atttypid != kTypes[k]) return false;
        attno[k] = a->attnum;
    }
    return live == kCols && TupleDescAttr(desc, attno[kSeq] - 1)->attidentity == ATTRIBUTE_IDENTITY_ALWAYS;
}

// What the catalog says beyond the descriptor, cached per (table, primary key, seq column).
struct Catalog {
    Oid relid = InvalidOid, pkey = InvalidOid;
    AttrNumber seq_attno = InvalidAttrNumber;
    bool usable = false;
    Oid seq_relid = InvalidOid;  // the identity sequence of seq
};
Catalog catalog;

void learn_catalog(Relation rel, Oid pkey, const AttrNumber *attno) {
    catalog = Catalog{};
    catalog.relid = RelationGetRelid(rel);
    catalog.pkey = pkey;
    catalog.seq_attno = attno[kSeq];
    if (!OidIsValid(pkey)) return;
    // The ON CONFLICT (id) arbiter: a valid, immediate unique index on id alone.
    Relation idx = index_open(pkey, AccessShareLock);
    bool ok = idx->rd_index->indnkeyatts == 1 && idx->rd_index->indkey.values[0] == attno[0] &&
              idx->rd_index->indisunique && idx->rd_index->indimmediate && idx->rd_index->indisvalid &&
              idx->rd_indexprs == NIL && RelationGetIndexPredicate(idx) == NIL;
    index_close(idx, AccessShareLock);
    if (!ok) return;
    catalog.seq_relid = getIdentitySequence(catalog.relid, attno[kSeq], true);
    catalog.usable = OidIsValid(catalog.seq_relid);
}

// Whether this insert may bypass the executor: the statement would have had nothing more to do
// than heap and indexes.
bool plain_enough(Relation rel) {
    if (rel->rd_rel->relkind != RELKIND_RELATION) return false;
    if (rel->trigdesc != nullptr || rel->rd_rules != nullptr) return false;
    TupleConstr *constr = RelationGetDescr(rel)->constr;
    if (constr && (constr->num_check > 0 || constr->has_generated_stored)) return false;
    Oid relid = RelationGetRelid(rel);
    if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED) return false;
    if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK) return false;
    return true;
}

// REPEATABLE READ and SERIALIZABLE: a conflicting row this transaction's snapshot cannot see is
// a serialization failure, as in nodeModifyTable.c (ExecCheckTupleVisible).
void check_conflict_visible(Relation rel, ItemPointer tid, EState *estate) {
    if (!IsolationUsesXactSnapshot()) return;
    TupleTableSlot *existing = table_slot_create(rel, &estate->es_tupleTable);
    if (!table_tuple_fetch_row_version(rel, tid, SnapshotAny, existing))
        elog(ERROR, "failed to fetch conflicting tuple for ON CONFLICT");
    if (!table_tuple_satisfies_snapshot(rel, existing, estate->es_snapshot)) {
        bool isnull;
        Datum xminDatum = slot_getsysattr(existing, MinTransactionIdAttributeNumber, &isnull);
        TransactionId xmin = DatumGetTransactionId(xminDatum);
        if (!TransactionIdIsCurrentTransactionId(xmin))
            ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                            errmsg("could not serialize access due to concurrent update")));
    }
}

}  // namespace

int pgs_insert_event_direct(Oid relid, const Datum *values, const char *nulls) {
    Relation rel = table_open(relid, RowExclusiveLock);
    AttrNumber attno[kCols];
    bool direct = plain_enough(rel) && map_columns(RelationGetDescr(rel), attno);
    if (direct) {
        // (A REINDEX CONCURRENTLY gives the primary key a new OID: the arbiter is the current one.)
        Oid pkey = RelationGetPrimaryKeyIndex(rel);
        if (catalog.relid != relid || catalog.pkey != pkey || catalog.seq_attno != attno[kSeq])
            learn_catalog(rel, pkey, attno);
        direct = catalog.usable;
    }
    if (!direct) {
        table_close(rel, NoLock);
        return -1;
    }
    // What the INSERT statement would have refused.
    PreventCommandIfReadOnly("INSERT");
    PreventCommandIfParallelMode("INSERT");

    EState *estate = CreateExecutorState();
    estate->es_output_cid = GetCurrentCommandId(true);
    estate->es_snapshot = GetActiveSnapshot();
    ResultRelInfo *rri = makeNode(ResultRelInfo);
    InitResultRelInfo(rri, rel, 1, nullptr, 0);
    ExecOpenIndices(rri, true);

    TupleTableSlot *slot = table_slot_create(rel, &estate->es_tupleTable);
    ExecClearTuple(slot);
    for (int i = 0; i < slot->tts_tupleDescriptor->natts; i++) {
        slot->tts_values[i] = (Datum)0;
        slot->tts_isnull[i] = true;
    }
    for (int k = 0; k < kReceivedAt; k++) {
        slot->tts_values[attno[k] - 1] = values[k];
        slot->tts_isnull[attno[k] - 1] = nulls[k] == 'n';
    }
    // The columns' defaults: received_at DEFAULT now(), seq GENERATED ALWAYS AS IDENTITY. Like the
    // statement, a duplicate consumes a sequence number (the default is computed before the
    // conflict check).
    slot->tts_values[attno[kReceivedAt] - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
    slot->tts_isnull[attno[kReceivedAt] - 1] = false;
    slot->tts_values[attno[kSeq] - 1] = Int64GetDatum(nextval_internal(catalog.seq_relid, false));
    slot->tts_isnull[attno[kSeq] - 1] = false;
    ExecStoreVirtualTuple(slot);

    List *arbiters = list_make1_oid(catalog.pkey);
    int inserted = 0;
    for (;;) {
        // Pre-check: an existing (or in-progress) row with this id means a duplicate; waits for
        // an in-progress inserter to finish, like the statement.
        ItemPointerData conflict_tid;
        if (!ExecCheckIndexConstraints(rri, slot, estate, &conflict_tid, arbiters)) {
            check_conflict_visible(rel, &conflict_tid, estate);
            break;
        }
        // Speculative insertion: another session may insert the same id between the pre-check
        // and our index entry; then ours is killed and we go round again (and find theirs).
        uint32 token = SpeculativeInsertionLockAcquire(GetCurrentTransactionId());
        table_tuple_insert_speculative(rel, slot, estate->es_output_cid, 0, nullptr, token);
        bool spec_conflict = false;
        List *recheck = ExecInsertIndexTuples(rri, slot, estate, false, true, &spec_conflict, arbiters);
        table_tuple_complete_speculative(rel, slot, token, !spec_conflict);
        SpeculativeInsertionLockRelease(GetCurrentTransactionId());
        list_free(recheck);
        if (!spec_conflict) {
            inserted = 1;
            break;
        }
    }
    list_free(arbiters);
    ExecCloseIndices(rri);
    ExecResetTupleTable(estate->es_tupleTable, false);
    FreeExecutorState(estate);
    table_close(rel, NoLock);
    // The statements that follow in this transaction see the row, as after an SQL statement.
    CommandCounterIncrement();
    return inserted;
}
