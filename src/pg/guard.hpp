// The C++/Postgres boundary, guarded both ways (after pg_duckdb's cpp_wrapper.hpp and
// PostgresFunctionGuard, and cppgres' guard.hpp):
//
//  * PGS_FUNCTION(name) declares a SQL-callable function whose body, name_impl, is C++. Any C++
//    exception it throws is caught and turned into ereport(ERROR) *after* the try block, when no
//    C++ object of this frame is alive any more. An error raised by Postgres inside pg_call() keeps
//    its SQLSTATE, message and detail (ReThrowError).
//  * pg_call(f) runs Postgres code that may ereport under its own PG_TRY and converts the error
//    into a C++ exception, so a longjmp never skips a C++ destructor. f itself must hold no C++
//    object with a destructor (it is a thin lambda around C calls).
#pragma once

#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "utils/elog.h"
#include "utils/memutils.h"
}

namespace pgs {

// A Postgres error caught by pg_call, carried across C++ frames.
struct PgException : std::exception {
    ErrorData *edata;
    explicit PgException(ErrorData *e) : edata(e) {}
    const char *what() const noexcept override { return edata && edata->message ? edata->message : "postgres error"; }
};

// An error the C++ code raises on purpose, with its SQLSTATE.
struct SqlError : std::exception {
    int sqlstate;
    std::string message, detail, hint;
    SqlError(int code, std::string msg, std::string det = {}, std::string h = {})
        : sqlstate(code), message(std::move(msg)), detail(std::move(det)), hint(std::move(h)) {}
    const char *what() const noexcept override { return message.c_str(); }
};

template <typename F>
auto pg_call(F &&f) -> decltype(f()) {
    using R = decltype(f());
    MemoryContext cxt = CurrentMemoryContext;
    ErrorData *edata = nullptr;
    if constexpr (std::is_void_v<R>) {
        PG_TRY();
        { f(); }
        PG_CATCH();
        {
            MemoryContextSwitchTo(cxt);
            edata = CopyErrorData();
            FlushErrorState();
        }
        PG_END_TRY();
        if (edata) throw PgException(edata);
    } else {
        R result{};
        PG_TRY();
        { result = f(); }
        PG_CATCH();
        {
            MemoryContextSwitchTo(cxt);
            edata = CopyErrorData();
            FlushErrorState();
        }
        PG_END_TRY();
        if (edata) throw PgException(edata);
        return result;
    }
}

// Fixed buffers: the catch blocks below must not allocate (palloc may itself ereport, and a
// longjmp out of a catch block would leave the C++ runtime's exception state half-done).
struct PendingError {
    ErrorData *edata = nullptr;
    int sqlstate = 0;
    char message[1024] = {0};
    char detail[1024] = {0};
    char hint[512] = {0};
};

void copy_bounded(char *dst, size_t cap, const char *src) noexcept;
[[noreturn]] void raise_pending(const PendingError &e);

template <Datum (*Impl)(FunctionCallInfo)>
Datum guarded(FunctionCallInfo fcinfo) {
    static PendingError pending;  // backends are single-threaded
    pending = PendingError{};
    try {
        return Impl(fcinfo);
    } catch (const PgException &e) {
        pending.edata = e.edata;
    } catch (const SqlError &e) {
        pending.sqlstate = e.sqlstate;
        copy_bounded(pending.message, sizeof pending.message, e.message.c_str());
        copy_bounded(pending.detail, sizeof pending.detail, e.detail.c_str());
        copy_bounded(pending.hint, sizeof pending.hint, e.hint.c_str());
    } catch (const std::bad_alloc &) {
        pending.sqlstate = ERRCODE_OUT_OF_MEMORY;
        copy_bounded(pending.message, sizeof pending.message, "out of memory");
    } catch (const std::exception &e) {
        pending.sqlstate = ERRCODE_INTERNAL_ERROR;
        copy_bounded(pending.message, sizeof pending.message, e.what());
    } catch (...) {
        pending.sqlstate = ERRCODE_INTERNAL_ERROR;
        copy_bounded(pending.message, sizeof pending.message, "unknown C++ exception");
    }
    // Every C++ object of this frame is gone: ereport may longjmp now.
    raise_pending(pending);
}

}  // namespace pgs

// Declares the SQL-visible symbol `name` (C linkage, V1 calling convention) around the C++
// function `name##_impl`.
#define PGS_FUNCTION(name)                                                             \
    static Datum name##_impl(FunctionCallInfo fcinfo);                                 \
    extern "C" {                                                                       \
    PG_FUNCTION_INFO_V1(name);                                                         \
    Datum name(PG_FUNCTION_ARGS) { return pgs::guarded<name##_impl>(fcinfo); }         \
    }                                                                                  \
    static Datum name##_impl(FunctionCallInfo fcinfo)
