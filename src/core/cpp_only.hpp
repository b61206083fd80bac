// Included first by every file of the pure C++ core: the core must build, test and fuzz without
// PostgreSQL, and must not silently pick up Postgres' macros (port.h redefines snprintf & co).
#pragma once
#ifdef PG_VERSION_NUM
#error "src/core is pure C++: do not include postgres.h before a core header"
#endif
