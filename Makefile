# pg_stripe — PGXS build. `make && make install`, then `make installcheck` against a running
# server (the README's `make test` does all of it on a throw-away cluster).
EXTENSION   = pg_stripe
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" pg_stripe.control)

MODULE_big  = pg_stripe
CORE_OBJS   = src/core/signature.o src/core/json.o src/core/event.o src/core/currency.o src/core/charge_deltas.o src/core/cohort.o src/core/rfm.o
PG_OBJS     = src/pg/guard.o src/pg/module.o src/pg/verify.o src/pg/ingest.o src/pg/rfm.o
OBJS        = $(CORE_OBJS) $(PG_OBJS)

# The install script is assembled from src/sql/*.sql (one file per kind of object, in name order)
# so each part reads as a reviewable schema. upgrade/ holds the upgrade scripts, as shipped, and
# the first release's install script: Postgres installs any earlier version from it through the
# chain (`CREATE EXTENSION pg_stripe VERSION '0.2.0'` runs 0.1.0, then 0.1.0--0.2.0), which the
# upgrade test uses; the test also builds each earlier release from its git tag.
SQL_PARTS   = $(sort $(wildcard src/sql/*.sql))
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql
DATA        = $(wildcard upgrade/$(EXTENSION)--*.sql)
EXTRA_CLEAN = $(DATA_built) output_iso

REGRESS     = verify verify_errors ingest event_log ordering bad_input privileges report zones rfm plans shards
REGRESS_OPTS = --inputdir=. --load-extension=pgcrypto
# Concurrent deliveries (specs/*.spec, pg_isolation_regress; expected/ as for pg_regress).
ISOLATION   = concurrent_delivery shard_claims

PG_CONFIG  ?= pg_config
PG_CPPFLAGS = -I$(shell $(PG_CONFIG) --includedir-server)
PG_CXXFLAGS = -std=c++17 -fexceptions -Wno-register -O2
SHLIB_LINK  = -lcrypto -lstdc++
# Debian's PG15 would build LLVM bitcode with clang from CPPFLAGS only; JIT inlining of this
# module buys nothing, so skip it.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(DATA_built): $(SQL_PARTS) pg_stripe.control
	cat $(SQL_PARTS) > $@

# Core objects must not see Postgres' include path: src/core/cpp_only.hpp enforces it.
src/core/%.o: src/core/%.cpp
	$(CXX) -std=c++17 -O2 -g -fPIC -fvisibility=hidden -Wall -Wextra -c -o $@ $<

.PHONY: test demo bench unit fuzz
test:
	./test/run.sh
demo:
	./demo/run.sh
bench:
	./bench/run.sh $(BENCH_ARGS)
