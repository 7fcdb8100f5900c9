# tricolor -- one non-recursive Makefile.
#
#   make               libtricolor.a and libtricolor.so in build/
#   make check         unit suites (debug, UBSan, ASan builds), API tests,
#                      exported-symbol check, a bounded stress run
#                      (stress-short: 10 s per stress program, 20 s of
#                      torture, 10 s more with the free lists on)
#   make small         the small-buffer build (base.h TRI_SMALL_BUF): API
#                      suites and torture with every slow path hot (part
#                      of make check)
#   make preload       libtricolor-malloc.so under real programs, in each
#                      mode (test/preload/run.sh; part of make check)
#   make stress        the long stress run: ten minutes of torture
#                      (STRESS_SECONDS, 600), a fifth of that for each
#                      other stress program; also STRESS_SEED,
#                      STRESS_THREADS, STRESS_SIZE
#   make demo          the demo program with its statistics (builds
#                      libtricolor-malloc.so too, for the README)
#   make build/coroutines   the coroutine example (docs/coroutines.md)
#   make bench         benchmarks for tricolor and its peers (not tests)
#   make fuzz          libFuzzer on the heap dump reader (clang;
#                      FUZZ_TIME seconds, 300)
#   make install       PREFIX (/usr/local) and DESTDIR honoured
#   make deps          install missing Debian packages (as root) or print
#                      the apt-get line
#   make clean
#
# Build variants (each in its own directory under build/):
#   rel    -O2 -g, TRI_DEBUG=0: the shipped libraries
#   debug  TRI_DEBUG=3: unit tests link its internal archive
#   ubsan  TRI_DEBUG=3 + -fsanitize=undefined
#   asan   TRI_DEBUG=3 + -fsanitize=address (the allocator scans no memory
#          it does not own, so every module runs under ASan)

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
CC      ?= cc
CFLAGS  ?= -O2 -g
B       := build
VERSION := 0.1.0
SOMAJOR := 0

PKGS       := atomic_ops check
AO_CFLAGS  := $(shell pkg-config --cflags atomic_ops 2>/dev/null)
AO_LIBS    := $(shell pkg-config --libs atomic_ops 2>/dev/null || echo -latomic_ops)
CHECK_FLAGS = $(shell pkg-config --cflags --libs check 2>/dev/null)

BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread \
               -fPIC -fvisibility=hidden $(AO_CFLAGS)
LDLIBS      := $(AO_LIBS) -pthread

LIB_SRCS := $(wildcard base/*.c alloc/*.c gc/*.c barrier/*.c prof/*.c \
                      runtime/*.c)
UNIT_SRCS := $(wildcard test/unit/test_*.c)
API_SRCS := $(wildcard test/api/test_*.c)
HDRS := $(wildcard include/*.h base/*.h alloc/*.h gc/*.h barrier/*.h \
                  prof/*.h runtime/*.h)

VARIANTS := debug ubsan asan
debug_CFLAGS := -O1 -g -DTRI_DEBUG=3
ubsan_CFLAGS := -O1 -g -DTRI_DEBUG=3 -fsanitize=undefined \
                -fno-sanitize-recover=all
asan_CFLAGS  := -O1 -g -DTRI_DEBUG=3 -fsanitize=address \
                -fno-omit-frame-pointer
rel_CFLAGS   := $(CFLAGS)
# Go's testSmallBuf (base.h TRI_SMALL_BUF): tiny buffers and free lists,
# so the slow paths run all the time; `make small`, part of make check.
small_CFLAGS := -O1 -g -DTRI_DEBUG=3 -DTRI_SMALL_BUF=1

.PHONY: all check demo bench install uninstall clean deps unit api stress \
        stress-short symbols tools-check fuzz fuzz-corpus preload small
all: $(B)/libtricolor.a $(B)/libtricolor.so $(B)/tricolor-dump \
     $(B)/libtricolor-malloc.so

# ---- objects per variant ----
define variant_rules
$(B)/$(1)/%.o: %.c $(HDRS) | deps-quiet
	@mkdir -p $$(dir $$@)
	$(CC) $(BASE_CFLAGS) $$($(1)_CFLAGS) $$(OBJ_EXTRA) -c $$< -o $$@
$(1)_OBJS := $(LIB_SRCS:%.c=$(B)/$(1)/%.o)
# Internal archive: every symbol visible, for unit tests and API tests.
$(B)/$(1)/libtricolor-internal.a: $$($(1)_OBJS)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach v,rel $(VARIANTS) small,$(eval $(call variant_rules,$(v))))
# The blocking-call wrappers end their section in a cleanup that must also
# run when a thread is cancelled inside the call (gc/blocking.c step 2).
$(foreach v,rel $(VARIANTS) small,$(B)/$(v)/gc/blocking.o): OBJ_EXTRA := -fexceptions

# ---- the shipped libraries ----
$(B)/libtricolor.so: $(rel_OBJS)
	$(CC) -shared -Wl,-soname,libtricolor.so.$(SOMAJOR) -o $@ $^ $(LDLIBS)

# The malloc preload (docs/malloc.md): the library's objects and the shim
# in preload/ (outside LIB_SRCS), exporting only the malloc family,
# the interposed thread calls and the tri_ API. -Bsymbolic-functions: the
# shim's calls into tricolor bind inside the library (no PLT hop per
# malloc). -static-libgcc: the unwinder (heap profile, leakcheck stacks)
# is linked in with hidden names, so a program that never samples does
# not load libgcc_s (0.5 MiB less RSS on the server bench); a C++
# program's exceptions keep using its own libgcc_s.
PRELOAD_SRCS := $(wildcard preload/*.c)
PRELOAD_OBJS := $(PRELOAD_SRCS:%.c=$(B)/rel/%.o)
$(PRELOAD_OBJS): $(wildcard preload/*.h)
$(B)/libtricolor-malloc.so: $(rel_OBJS) $(PRELOAD_OBJS)
	$(CC) -shared -static-libgcc -Wl,-soname,libtricolor-malloc.so \
	    -Wl,-Bsymbolic-functions -o $@ $^ $(LDLIBS)

# One relocatable object with hidden names made local, so the archive's
# internal names cannot clash with a user's.
$(B)/libtricolor.a: $(rel_OBJS)
	ld -r -o $(B)/tricolor-all.o $^
	objcopy --localize-hidden $(B)/tricolor-all.o
	rm -f $@ && ar rcs $@ $(B)/tricolor-all.o

# ---- tests ----
# Unit suites: one per module, against the internal archive of a variant.
define unit_rules
$(B)/$(1)/test/%: test/unit/%.c $(B)/$(1)/libtricolor-internal.a
	@mkdir -p $$(dir $$@)
	$(CC) $(BASE_CFLAGS) $$($(1)_CFLAGS) -Ibase -Ialloc -Igc -Iprof -Iruntime -Iinclude $$< \
	    $(B)/$(1)/libtricolor-internal.a $(CHECK_FLAGS) $(LDLIBS) -o $$@
$(B)/$(1)/api/%: test/api/%.c $(B)/$(1)/libtricolor-internal.a \
                 test/testlib.h
	@mkdir -p $$(dir $$@)
	$(CC) $(BASE_CFLAGS) $$($(1)_CFLAGS) -Iinclude $$< \
	    $(B)/$(1)/libtricolor-internal.a $(CHECK_FLAGS) $(LDLIBS) \
	    $$(API_EXTRA) -o $$@
$(B)/$(1)/api/libroot.so: test/api/libroot.c
	@mkdir -p $$(dir $$@)
	$(CC) $(BASE_CFLAGS) $$($(1)_CFLAGS) -shared $$< -o $$@
endef
$(foreach v,$(VARIANTS) small,$(eval $(call unit_rules,$(v))))

# API tests not run under ASan (their asan binaries still build:
# make build/asan/api/NAME). The collector reads memory it does not own
# (other threads' stacks, data, bss), which ASan may report; empty this list
# once that scanning is ASan-clean.
API_ASAN_EXCLUDE := test_gc test_gcenv test_sweep test_concurrent test_coro \
                    test_scavenge test_profile test_blocking

UNIT_BINS := $(foreach v,$(VARIANTS),$(UNIT_SRCS:test/unit/%.c=$(B)/$(v)/test/%))
API_BINS := $(API_SRCS:test/api/%.c=$(B)/api/%) \
            $(API_SRCS:test/api/%.c=$(B)/ubsan/api/%) \
            $(filter-out $(API_ASAN_EXCLUDE:%=$(B)/asan/api/%), \
                         $(API_SRCS:test/api/%.c=$(B)/asan/api/%))

# API programs against the shipped static library: only tricolor.h.
$(B)/api/%: test/api/%.c $(B)/libtricolor.a include/tricolor.h \
            test/testlib.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -Iinclude $< $(B)/libtricolor.a \
	    $(CHECK_FLAGS) $(LDLIBS) $(API_EXTRA) -o $@

$(B)/api/libroot.so: test/api/libroot.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -shared $< -o $@

# test_gc dlopens libroot.so (test/api/libroot.c) from its own build
# directory, by the absolute path compiled in.
API_GC_BINS := $(B)/api/test_gc $(B)/ubsan/api/test_gc $(B)/asan/api/test_gc \
               $(B)/small/api/test_gc
$(foreach t,$(API_GC_BINS),$(eval $(t): $(dir $(t))libroot.so))
$(API_GC_BINS): API_EXTRA = -DLIBROOT_PATH='"$(abspath $(dir $@)libroot.so)"' \
                            -ldl

$(B)/stress/%: test/stress/%.c $(B)/libtricolor.a include/tricolor.h \
               test/testlib.h test/stress/stress.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -Iinclude $< $(B)/libtricolor.a \
	    $(LDLIBS) -o $@

# The malloc preload under real programs (test/preload/run.sh).
preload: $(B)/libtricolor-malloc.so
	@sh test/preload/run.sh $(abspath $(B))

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; \
	    CK_DEFAULT_TIMEOUT=120 ./$$t; done

api: $(API_BINS)
	@set -e; for t in $(API_BINS); do echo "== $$t"; \
	    CK_DEFAULT_TIMEOUT=120 ./$$t; done

symbols: $(B)/libtricolor.a $(B)/libtricolor.so
	sh test/api/check_symbols.sh include/tricolor.h $(B)/libtricolor.a \
	    $(B)/libtricolor.so

STRESS_SRCS := $(wildcard test/stress/*.c)
STRESS_BINS := $(STRESS_SRCS:test/stress/%.c=$(B)/stress/%)
$(B)/stress/torture_plain: test/stress/torture.c
# Every stress program takes SEED THREADS MAX_SIZE SECONDS.
# stress-short (run by make check): seed 1, 4 threads, objects up to
# 300 kB; stress_alloc, stress_gc and torture_plain (the default mode,
# plain stores) 10 seconds each, torture 20 seconds,
# then torture 10 seconds more without clobberfree (which turns the
# thread free lists off, mcache.c), so its explicit frees go through the
# lists while concurrent cycles run.
# stress: the long run, ten minutes of torture (STRESS_SECONDS, 600) and
# a fifth of that for each other program, with STRESS_SEED,
# STRESS_THREADS and STRESS_SIZE (1, 4, 300000).
STRESS_SEED    ?= 1
STRESS_THREADS ?= 4
STRESS_SIZE    ?= 300000
STRESS_SECONDS ?= 600
stress-short: $(STRESS_BINS)
	@set -e; for t in $(STRESS_BINS); do echo "== $$t"; \
	    case $$t in */torture) s=20;; *) s=10;; esac; \
	    ./$$t 1 4 300000 $$s; done
	@echo "== $(B)/stress/torture (free lists on)"
	@GODEBUG=gccheckmark=1 ./$(B)/stress/torture 2 4 300000 10

# The small-buffer build (small_CFLAGS): the API suites that mark, run
# the barrier, free and churn threads, and 10 s of torture.
SMALL_API := test_api test_gc test_concurrent test_blocking test_threads \
             test_sweep test_coro
SMALL_BINS := $(SMALL_API:%=$(B)/small/api/%) $(B)/small/stress/torture
$(B)/small/stress/torture: test/stress/torture.c \
                           $(B)/small/libtricolor-internal.a \
                           include/tricolor.h test/stress/stress.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(small_CFLAGS) -Iinclude $< \
	    $(B)/small/libtricolor-internal.a $(LDLIBS) -o $@
small: $(SMALL_BINS)
	@set -e; for t in $(SMALL_API); do echo "== $(B)/small/api/$$t"; \
	    CK_DEFAULT_TIMEOUT=240 ./$(B)/small/api/$$t; done
	@echo "== $(B)/small/stress/torture"
	@./$(B)/small/stress/torture 3 4 300000 10

stress: $(STRESS_BINS)
	@set -e; for t in $(STRESS_BINS); do echo "== $$t"; \
	    case $$t in */torture) s=$(STRESS_SECONDS);; \
	        *) s=$$(( $(STRESS_SECONDS) / 5 ));; esac; \
	    ./$$t $(STRESS_SEED) $(STRESS_THREADS) $(STRESS_SIZE) $$s; done

# ---- tools/tricolor-dump, the heap dump reader ----
TOOL_HDRS := prof/heapdump.h prof/pprof_enc.h
$(B)/tricolor-dump: tools/tricolor-dump.c $(TOOL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $< -o $@

# tools-check (make check): the layering check (tools/layers.sh: no
# upward include or tri_ call beyond tools/layers.allow) and its test;
# test/tools/run.sh -- the tool against dumps and profiles of
# test/tools/dumpprog (-g: pprof needs its DWARF), go tool pprof if go is
# installed, and FUZZ_SECONDS of the reader's mutation fuzzer under ASan
# and UBSan.
FUZZ_SECONDS ?= 5
FUZZ_CFLAGS := -O1 -g -DTRICOLOR_DUMP_FUZZ -fsanitize=address,undefined \
               -fno-sanitize-recover=all
$(B)/tools/dumpprog: test/tools/dumpprog.c $(B)/libtricolor.a \
                     include/tricolor.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -g -Iinclude $< $(B)/libtricolor.a \
	    $(LDLIBS) -o $@
$(B)/tools/fuzz_mutate: tools/tricolor-dump.c test/fuzz/mutate.c $(TOOL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(FUZZ_CFLAGS) tools/tricolor-dump.c \
	    test/fuzz/mutate.c -o $@
tools-check: $(B)/tricolor-dump $(B)/tools/dumpprog $(B)/tools/fuzz_mutate
	sh tools/layers.sh .
	sh test/tools/layers_test.sh
	sh test/tools/run.sh $(B) $(FUZZ_SECONDS)

# Long fuzzing with libFuzzer (clang): make fuzz FUZZ_TIME=600. New
# inputs go to $(B)/fuzz/corpus, seeded from test/fuzz/corpus.
FUZZ_TIME ?= 300
$(B)/fuzz/fuzz_dump: tools/tricolor-dump.c test/fuzz/libfuzzer.c $(TOOL_HDRS)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -DTRICOLOR_DUMP_FUZZ -O1 -g \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    tools/tricolor-dump.c test/fuzz/libfuzzer.c -o $@
fuzz: $(B)/fuzz/fuzz_dump
	@mkdir -p $(B)/fuzz/corpus
	cp test/fuzz/corpus/*.dump $(B)/fuzz/corpus/
	$(B)/fuzz/fuzz_dump -max_total_time=$(FUZZ_TIME) $(B)/fuzz/corpus

# Regenerate the seed dumps of test/fuzz/corpus (commit them if the
# format changed).
fuzz-corpus: $(B)/tools/dumpprog
	$(B)/tools/dumpprog seed test/fuzz/corpus/seed.dump
	$(B)/tools/dumpprog chain test/fuzz/corpus/chain.dump >/dev/null
	$(B)/tools/dumpprog diff test/fuzz/corpus/diff-old.dump \
	    $(B)/tools/diff-new.dump

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory symbols
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory api
	@$(MAKE) --no-print-directory tools-check
	@$(MAKE) --no-print-directory stress-short
	@$(MAKE) --no-print-directory small
	@$(MAKE) --no-print-directory preload
	@echo "make check: all suites passed"

# ---- demo and benchmarks ----
$(B)/demo: docs/examples/demo.c $(B)/libtricolor.a include/tricolor.h
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -Iinclude $< $(B)/libtricolor.a \
	    $(LDLIBS) -o $@

# Builds libtricolor-malloc.so too, for README.md's LD_PRELOAD line.
demo: deps
	@$(MAKE) --no-print-directory $(B)/demo $(B)/libtricolor-malloc.so
	./$(B)/demo

# The coroutine example (docs/coroutines.md): not built by default.
$(B)/coroutines: docs/examples/coroutines.c docs/examples/coro.h \
                 $(B)/libtricolor.a include/tricolor.h
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -Iinclude $< $(B)/libtricolor.a \
	    $(LDLIBS) -o $@

bench: deps
	@$(MAKE) --no-print-directory all
	CC="$(CC)" TRI_LIB=$(B)/libtricolor.a TRI_INC=include \
	    TRI_LDLIBS="$(LDLIBS)" OUT=$(B)/bench sh bench/run.sh

# ---- dependencies ----
deps:
	@sh tools/deps.sh $(PKGS)
deps-quiet:
	@sh tools/deps.sh --check-only $(PKGS) >/dev/null 2>&1 || \
	    sh tools/deps.sh $(PKGS)

# ---- install ----
# tricolor.pc: the shared library (--static adds what a static link needs);
# tricolor-static.pc: the archive, named by its path, whatever the link
# (README.md, docs/api.md). Written again at every install, since PREFIX,
# LIBDIR or INCDIR may differ from the last one.
PC_FILES := $(B)/tricolor.pc $(B)/tricolor-static.pc
$(PC_FILES): $(B)/%.pc: %.pc.in pc-force
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@
.PHONY: pc-force
pc-force:

# As root and without DESTDIR, ldconfig: a program linked against
# libtricolor.so in /usr/local/lib finds it at once.
install: all $(PC_FILES)
	install -d $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/tricolor.h $(DESTDIR)$(INCDIR)/
	install -m 644 $(B)/libtricolor.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(B)/libtricolor.so \
	    $(DESTDIR)$(LIBDIR)/libtricolor.so.$(VERSION)
	ln -sf libtricolor.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/libtricolor.so.$(SOMAJOR)
	ln -sf libtricolor.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libtricolor.so
	install -m 644 $(PC_FILES) $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 755 $(B)/libtricolor-malloc.so $(DESTDIR)$(LIBDIR)/
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(B)/tricolor-dump $(DESTDIR)$(BINDIR)/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && \
	    command -v ldconfig >/dev/null 2>&1; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/tricolor.h $(DESTDIR)$(LIBDIR)/libtricolor.* \
	    $(DESTDIR)$(LIBDIR)/libtricolor-malloc.so \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/tricolor.pc \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/tricolor-static.pc \
	    $(DESTDIR)$(BINDIR)/tricolor-dump

clean:
	rm -rf $(B)
