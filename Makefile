# PGXS build: authoritative for make, make install and make installcheck.
EXTENSION = schema_guard schema_guard_tap
MODULE_big = schema_guard

include sources.mk
OBJS = $(CORE_SOURCES:.cpp=.o) $(PG_SOURCES:.cpp=.o)

DATA = $(wildcard sql/schema_guard--*.sql) $(wildcard sql/schema_guard_tap--*.sql)
REGRESS = demo bridge settings schema_check migration_check staging lint demo_sync
REGRESS_OPTS = --inputdir=. --outputdir=build/regress

PG_CONFIG ?= pg_config
PG_INCLUDE_SERVER := $(shell $(PG_CONFIG) --includedir-server)
PG_INCLUDE_INTERNAL := $(shell $(PG_CONFIG) --includedir)/internal

# Server headers are system headers, so -Werror applies to our code only.
PG_CPPFLAGS = -Isrc -isystem $(PG_INCLUDE_SERVER) -isystem $(PG_INCLUDE_INTERNAL)
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -Wno-missing-field-initializers
# Only the server's entry points are exported (src/pg/schema_guard.map).
SHLIB_LINK = -lfmt -lstdc++ -Wl,--version-script=src/pg/schema_guard.map

EXTRA_CLEAN = build

# Track header dependencies (.deps/*.Po), so a changed header rebuilds
# every object that includes it; bitcode follows its object.
override autodepend = yes

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS:.o=.bc): %.bc: %.o

schema_guard$(DLSUFFIX): src/pg/schema_guard.map

# PGXS names a dependency file after the source's base name, so
# src/core/staging.cpp and src/pg/staging.cpp would share .deps/staging.Po
# and one of them would miss header changes: name it after the whole path.
%.o: %.cpp
	@if test ! -d $(DEPDIR); then mkdir -p $(DEPDIR); fi
	$(COMPILE.cc) -o $@ $< -MMD -MP -MF $(DEPDIR)/$(subst /,_,$*).Po

# Bitcode for servers built with LLVM JIT: compile as C++17 like the objects.
COMPILE.cxx.bc = $(CLANG) -xc++ -std=c++17 -Wno-ignored-attributes $(BITCODE_CXXFLAGS) $(CPPFLAGS) -flto=thin -emit-llvm -c

installcheck: | build/regress
build/regress:
	mkdir -p $@
