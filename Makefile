# blockcopy: copy the disk of a running QEMU VM over QMP.
#
# Works without configure: configure only writes config.mk.
#   make                 build libblockcopy and blockcopy
#   make check           unit tests, fuzz corpora, tests against a real QEMU
#   make check SANITIZE=1  the same with ASan and UBSan; reports fail it
#   make check-valgrind  the tests of the tool with blockcopy under memcheck
#   make fuzz            build the libFuzzer targets with clang and run each
#                        for FUZZ_SECONDS (default 60)
#   make demo            copy the disk of a throwaway VM live
#   make soak            the integrity test for hundreds of rounds
#   make bench           measure against QEMU (a few minutes; BENCH_ARGS=--quick)
#   make install         honours DESTDIR, PREFIX, BINDIR, LIBDIR, MANDIR
#   make dist            blockcopy-VERSION.tar.gz (needs a git checkout)
#   make distcheck       build, test and install that tarball on its own
#   V=1                  show the commands
#   SANITIZE=1           build with ASan and UBSan
#   DEVELOPER=0          do not turn warnings into errors

-include config.mk

VERSION = 0.1.0
SOVERSION = 0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

CC ?= cc
PKG_CONFIG ?= pkg-config
INSTALL ?= install
AR ?= ar

# A git checkout is a development build: warnings are errors there.
DEVELOPER ?= $(if $(wildcard .git),1,0)

CFLAGS ?= -g -O2
BC_CFLAGS = -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -Wno-format-nonliteral \
	-fvisibility=hidden -fPIC -D_GNU_SOURCE -Ilib
ifeq ($(DEVELOPER),1)
BC_CFLAGS += -Werror
endif
ifeq ($(SANITIZE),1)
BC_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
BC_LDFLAGS += -fsanitize=address,undefined
endif

LIB_PKGS = libxml-2.0 json-c
CLI_PKGS = libedit
TEST_PKGS = check
pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1))
pkg_libs = $(shell $(PKG_CONFIG) --libs $(1))

LIB_SRCS = $(sort $(wildcard lib/*.c))
CLI_SRCS = $(sort $(wildcard cli/*.c))
UNIT_SRCS = $(sort $(wildcard tests/unit/*.c))
LIB_OBJS = $(LIB_SRCS:.c=.o)
CLI_OBJS = $(CLI_SRCS:.c=.o)
UNIT_OBJS = $(UNIT_SRCS:.c=.o)
# The tool's word splitter is unit-tested too (tests/unit/test_words.c).
UNIT_CLI_OBJS = cli/words.o cli/output.o
# The tool without main(), for the fuzz target of its parser.
CLI_NOMAIN_OBJS = $(filter-out cli/main.o,$(CLI_OBJS))

STATIC_LIB = lib/libblockcopy.a
SHARED_LIB = lib/libblockcopy.so.$(VERSION)
SONAME = libblockcopy.so.$(SOVERSION)
PROGRAM = blockcopy
UNIT_TESTS = tests/unit/run-unit
BENCH_FLOOR = bench/qmp-floor
# The write log of the test guest (tests/guest/writer.c), static: it runs
# as a program of the guest's initramfs, and as the checker on the host.
GUEST_WRITER = tests/guest/writer

# The targets are tests/fuzz/fuzz-TARGET.c.  make check replays their
# corpora (tests/fuzz/corpus/TARGET) through tests/fuzz/replay-TARGET,
# built like the rest, so every saved input is a regression test even
# without clang.  make fuzz builds them with clang's libFuzzer, ASan and
# UBSan into tests/fuzz/build/ and runs each for FUZZ_SECONDS; new inputs
# and crashes are written there, the corpus is only read.
FUZZ_TARGETS = dest-xml qmp-stream size cli-args
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_BUILD = tests/fuzz/build
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link \
	-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LDFLAGS = -fsanitize=fuzzer,address,undefined
FUZZ_REPLAYS = $(FUZZ_TARGETS:%=tests/fuzz/replay-%)
FUZZERS = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz-%)
FUZZ_OBJS = tests/fuzz/replay.o $(FUZZ_TARGETS:%=tests/fuzz/fuzz-%.o)
FUZZ_FLAGS_CC = $(CPPFLAGS) $(BC_CFLAGS) -Icli \
	$(call pkg_cflags,$(LIB_PKGS) $(CLI_PKGS))
FUZZ_LIBS = $(call pkg_libs,$(CLI_PKGS) $(LIB_PKGS))

ifneq ($(V),1)
Q = @
QUIET_CC = @echo '   CC      '$@;
QUIET_LINK = @echo '   LINK    '$@;
QUIET_AR = @echo '   AR      '$@;
QUIET_GEN = @echo '   GEN     '$@;
endif

all: $(PROGRAM) $(SHARED_LIB) lib/libblockcopy.pc

# Every object depends on the build's flags: switching SANITIZE (or CC,
# CFLAGS) rebuilds everything instead of linking objects of two builds.
BUILD_FLAGS = $(CC) $(CPPFLAGS) $(BC_CFLAGS) $(CFLAGS) $(BC_LDFLAGS) $(LDFLAGS)
.build-flags: FORCE
	$(Q)flags='$(subst ','\'',$(BUILD_FLAGS))'; \
	if [ "$$flags" != "$$(cat $@ 2>/dev/null)" ]; then \
		echo "$$flags" > $@; \
	fi

lib/%.o: lib/%.c lib/*.h .build-flags
	$(QUIET_CC)$(CC) $(CPPFLAGS) $(BC_CFLAGS) $(CFLAGS) $(call pkg_cflags,$(LIB_PKGS)) -c -o $@ $<

cli/%.o: cli/%.c cli/*.h lib/blockcopy.h .build-flags
	$(QUIET_CC)$(CC) $(CPPFLAGS) $(BC_CFLAGS) $(CFLAGS) $(call pkg_cflags,$(CLI_PKGS) json-c) -c -o $@ $<

tests/unit/%.o: tests/unit/%.c tests/unit/*.h lib/*.h cli/cli.h .build-flags
	$(QUIET_CC)$(CC) $(CPPFLAGS) $(BC_CFLAGS) -Icli $(CFLAGS) $(call pkg_cflags,$(LIB_PKGS) $(TEST_PKGS)) -c -o $@ $<

$(STATIC_LIB): $(LIB_OBJS)
	$(QUIET_AR)rm -f $@ && $(AR) rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS) lib/libblockcopy.syms
	$(QUIET_LINK)$(CC) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=lib/libblockcopy.syms -Wl,--no-undefined \
		$(BC_LDFLAGS) $(LDFLAGS) -o $@ $(LIB_OBJS) $(call pkg_libs,$(LIB_PKGS))

# The tool is linked with the static library; tests/check-api verifies
# that it calls nothing but the public API.
$(PROGRAM): $(CLI_OBJS) $(STATIC_LIB)
	$(QUIET_LINK)$(CC) $(BC_LDFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC_LIB) \
		$(call pkg_libs,$(CLI_PKGS) $(LIB_PKGS))

$(UNIT_TESTS): $(UNIT_OBJS) $(UNIT_CLI_OBJS) $(STATIC_LIB)
	$(QUIET_LINK)$(CC) $(BC_LDFLAGS) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(UNIT_CLI_OBJS) $(STATIC_LIB) \
		$(call pkg_libs,$(TEST_PKGS) $(LIB_PKGS))

# Always regenerated: it depends on PREFIX and LIBDIR, not on files.
lib/libblockcopy.pc: lib/libblockcopy.pc.in FORCE
	$(QUIET_GEN)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# With SANITIZE=1 every test program runs under tests/helpers/run-checked,
# which fails the run on any sanitizer report.
CHECKED = $(if $(filter 1,$(SANITIZE)),tests/helpers/run-checked sanitizer)

# Without the sanitizers, which do not link statically.
$(GUEST_WRITER): tests/guest/writer.c .build-flags
	$(QUIET_LINK)$(CC) $(CPPFLAGS) $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(BC_CFLAGS)) \
		$(CFLAGS) -static $(LDFLAGS) -o $@ $<

check: all $(UNIT_TESTS) $(FUZZ_REPLAYS) $(GUEST_WRITER)
	$(Q)tests/check-api
	$(Q)$(CHECKED) $(UNIT_TESTS)
	$(Q)$(CHECKED) tests/fuzz/replay-corpora
	$(Q)$(CHECKED) tests/run-tests

check-unit: $(UNIT_TESTS)
	$(Q)$(CHECKED) $(UNIT_TESTS)

check-valgrind: all $(GUEST_WRITER)
ifeq ($(SANITIZE),1)
	$(error check-valgrind needs a build without SANITIZE=1)
endif
	$(Q)tests/helpers/run-checked valgrind tests/run-tests

# The integrity test, hundreds of rounds of random guest writes.
SOAK_ROUNDS ?= 300
soak: all
	$(Q)ROUNDS=$(SOAK_ROUNDS) tests/run-tests integrity

# ---- fuzzing (the variables are above) ---------------------------------

tests/fuzz/%.o: tests/fuzz/%.c tests/fuzz/fuzz.h lib/*.h cli/*.h .build-flags
	$(QUIET_CC)$(CC) $(FUZZ_FLAGS_CC) $(CFLAGS) -c -o $@ $<

# The parser's target needs the command table, so all of cli/ but main().
tests/fuzz/replay-cli-args: $(CLI_NOMAIN_OBJS)
tests/fuzz/replay-%: tests/fuzz/replay.o tests/fuzz/fuzz-%.o $(STATIC_LIB)
	$(QUIET_LINK)$(CC) $(BC_LDFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) \
		$(STATIC_LIB) $(FUZZ_LIBS)

$(FUZZ_BUILD)/%.o: %.c lib/*.h cli/*.h tests/fuzz/fuzz.h
	@mkdir -p $(@D)
	$(QUIET_CC)$(FUZZ_CC) $(FUZZ_FLAGS_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz-cli-args: $(CLI_NOMAIN_OBJS:%=$(FUZZ_BUILD)/%)
$(FUZZ_BUILD)/fuzz-%: $(FUZZ_BUILD)/tests/fuzz/fuzz-%.o \
		$(LIB_OBJS:%=$(FUZZ_BUILD)/%)
	$(QUIET_LINK)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^ $(FUZZ_LIBS)

# Keep the objects that only pattern rules name.
.SECONDARY: $(FUZZ_OBJS) $(FUZZ_OBJS:%=$(FUZZ_BUILD)/%) \
	$(LIB_OBJS:%=$(FUZZ_BUILD)/%) $(CLI_NOMAIN_OBJS:%=$(FUZZ_BUILD)/%)

fuzzers: $(FUZZERS)

fuzz: $(FUZZERS)
	$(Q)tests/fuzz/run-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo: $(PROGRAM)
	$(Q)scripts/demo

# The floor driver needs json-c only: it shares no code with the tool.
$(BENCH_FLOOR): bench/qmp-floor.c .build-flags
	$(QUIET_LINK)$(CC) $(CPPFLAGS) $(BC_CFLAGS) $(CFLAGS) $(call pkg_cflags,json-c) \
		$(BC_LDFLAGS) $(LDFLAGS) -o $@ $< $(call pkg_libs,json-c)

bench: $(PROGRAM) $(BENCH_FLOOR) $(GUEST_WRITER)
	$(Q)bench/run $(BENCH_ARGS)

# The same on the system's QEMU and on Debian 13's (scripts/qemu-chroot,
# as root), side by side.
bench-qemus: $(PROGRAM) $(BENCH_FLOOR) $(GUEST_WRITER)
	$(Q)bench/run $(BENCH_ARGS) --out bench/results-system.json
	$(Q)QEMU_BINDIR=$$(scripts/qemu-chroot) bench/run $(BENCH_ARGS) \
		--out bench/results-newest.json
	$(Q)bench/compare bench/results-system.json bench/results-newest.json \
		--md bench/results-qemus.md

# ---- installation and distribution ----------------------------------
#
# install puts the tool, the library (shared, static, header, pkg-config
# file), the man pages and the bash completion under DESTDIR and the
# directories above; uninstall removes exactly those files.  dist makes
# blockcopy-$(VERSION).tar.gz from the files git tracks, configure
# included; distcheck builds, tests, installs and uninstalls that tarball
# in a temporary directory (scripts/dist, scripts/distcheck).

INSTALLED = $(BINDIR)/$(PROGRAM) \
	$(LIBDIR)/libblockcopy.so.$(VERSION) $(LIBDIR)/$(SONAME) \
	$(LIBDIR)/libblockcopy.so $(LIBDIR)/libblockcopy.a \
	$(INCLUDEDIR)/blockcopy.h $(PKGCONFIGDIR)/libblockcopy.pc \
	$(MANDIR)/man1/blockcopy.1 $(MANDIR)/man3/libblockcopy.3 \
	$(BASHCOMPDIR)/blockcopy

# The .pc file is named too: it must follow the PREFIX given to install.
install: all lib/libblockcopy.pc
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 755 $(PROGRAM) $(DESTDIR)$(BINDIR)/$(PROGRAM)
	$(INSTALL) -m 644 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/libblockcopy.so.$(VERSION)
	ln -sf libblockcopy.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libblockcopy.so
	$(INSTALL) -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/libblockcopy.a
	$(INSTALL) -m 644 lib/blockcopy.h $(DESTDIR)$(INCLUDEDIR)/blockcopy.h
	$(INSTALL) -m 644 lib/libblockcopy.pc $(DESTDIR)$(PKGCONFIGDIR)/libblockcopy.pc
	$(INSTALL) -m 644 man/blockcopy.1 $(DESTDIR)$(MANDIR)/man1/blockcopy.1
	$(INSTALL) -m 644 man/libblockcopy.3 $(DESTDIR)$(MANDIR)/man3/libblockcopy.3
	$(INSTALL) -m 644 completion/blockcopy.bash $(DESTDIR)$(BASHCOMPDIR)/blockcopy

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

dist:
	$(Q)scripts/dist $(VERSION)

distcheck: dist
	$(Q)scripts/distcheck blockcopy-$(VERSION).tar.gz

.PHONY: dist distcheck

clean:
	rm -f $(LIB_OBJS) $(CLI_OBJS) $(UNIT_OBJS) $(STATIC_LIB) lib/libblockcopy.so* \
		lib/libblockcopy.pc $(PROGRAM) $(UNIT_TESTS) $(BENCH_FLOOR) $(GUEST_WRITER) .build-flags \
		$(FUZZ_OBJS) $(FUZZ_REPLAYS)
	rm -rf $(FUZZ_BUILD) tests/guest/build

# configure stays: a tarball ships it.
distclean: clean
	rm -rf config.mk config.log config.status autom4te.cache

maintainer-clean: distclean
	rm -f configure

.PHONY: maintainer-clean

FORCE:

.PHONY: FORCE all bench bench-qemus check check-unit check-valgrind soak fuzz fuzzers \
	demo install uninstall clean distclean
