# signerd: plain GNU make. `make deps` installs the Debian packages, `make`
# builds, `make check` installs, builds and runs every test, `make run`
# creates the demo state once and serves it.

prefix ?= /usr/local
bindir ?= $(prefix)/bin
sbindir ?= $(prefix)/sbin
libexecdir ?= $(prefix)/libexec
DESTDIR ?=

BUILD ?= build
PORT ?= 8443
DEMO_DIR ?= $(CURDIR)/demo
CA_KEY_TYPE ?= p256

DEB_PACKAGES := build-essential pkg-config openssl libssl-dev softhsm2 libsofthsm2 \
	p11-kit libp11-kit-dev libmicrohttpd-dev libgnutls28-dev gnutls-bin \
	liblmdb-dev lmdb-utils libjansson-dev libinih-dev libcunit1-dev libseccomp-dev libidn2-dev libldns-dev \
	libcurl4-openssl-dev curl jq opensc python3-prometheus-client python3-jsonschema python3-yaml \
	certbot lego uacme python3-cryptography python3-dnslib util-linux chromium \
	clang-14 libclang-rt-14-dev llvm-14
# libcurl: OpenSSL's flavour, the TLS library signer/ already uses (GnuTLS stays the front's,
# behind api/); signerd-push and signerctl's witness client use it, --as-needed keeps it out of the rest.
PKGS := libcrypto p11-kit-1 libmicrohttpd gnutls lmdb jansson inih libseccomp libidn2 ldns libcurl
TEST_PKGS := cunit
# golang-cfssl: cfssl serve, the peer of `make bench BENCH_PEER=cfssl`.
BENCH_PACKAGES := gnuplot-nox golang-cfssl
VALGRIND_PACKAGES := valgrind
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla
HARDEN := -fstack-protector-strong -fstack-clash-protection -fcf-protection \
	-D_FORTIFY_SOURCE=2 -fPIE
CPPFLAGS += -Iinclude -Isigner -D_DEFAULT_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED
CFLAGS ?= -O2 -g
# override: a CFLAGS on the command line (make asan) keeps the standard, the warnings and the hardening.
override CFLAGS += -std=c11 $(WARN) $(HARDEN) -MMD -MP
LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed
LDLIBS += -lpthread

ifneq ($(filter-out check deps deps-bench deps-valgrind deps-deb deps-lint valgrind deb help clean run demo bench bench-journal \
	bench-dos fuzz,$(or $(MAKECMDGOALS),all)),)
  ifneq ($(shell pkg-config --exists $(PKGS) && echo ok),ok)
    $(error missing libraries (pkg-config: $(PKGS)); run 'make deps' first)
  endif
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null || echo -lcunit)

PROGRAMS := signerd signerd-front signerd-push signerctl
# signer/ is one folder per subsystem (README, "Design"); the two programs' mains sit at its top.
# privsep_client.c is signer.h over the channels: only signerd-front links it, in place of signer/core.
FRONT_SRCS := signer/privsep/privsep_client.c
LIB_SRCS := $(filter-out $(FRONT_SRCS),$(wildcard signer/*/*.c pkcs11/*.c api/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/test_*.c)
TESTS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
# PKCS#11 modules that only tests load (the fault injector, the network HSM model); what they
# share (tests/modules/common/) is compiled into each.
TEST_MODULE_SRCS := $(wildcard tests/modules/*.c)
TEST_MODULES := $(TEST_MODULE_SRCS:tests/modules/%.c=$(BUILD)/tests/modules/%.so)
TEST_MODULE_COMMON_OBJS := $(patsubst %.c,$(BUILD)/%.pic.o,$(wildcard tests/modules/common/*.c))
BENCH_SRCS := $(wildcard tests/bench/*.c)

# libFuzzer targets (tests/fuzz/fuzz_<name>.c: each such file is a target),
# built with clang under AddressSanitizer and UndefinedBehaviorSanitizer in
# their own directory: the library objects get the coverage instrumentation
# (fuzzer-no-link), each target links libFuzzer's main. `make fuzz` replays
# the regression inputs and seeds of every target, then fuzzes each for
# FUZZ_SECONDS, FUZZ_JOBS targets at a time (one process each);
# `make check` does the same (FUZZ=no leaves it out).
FUZZ ?= yes
FUZZ_CC ?= clang-14
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
FUZZ_ENV = FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -std=c11 $(WARN) -MMD -MP $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_UTIL_OBJS := $(FUZZ_BUILD)/tests/fuzz/harness.o
FUZZ_SEEDS_BIN := $(BUILD)/tests/fuzz/fuzz-seeds

.SECONDARY:
.PHONY: all deps deps-bench deps-valgrind valgrind check layers test unit integration asan fuzz fuzz-build fuzz-cc \
	fuzz-seeds bench bench-journal run demo install clean help

all: $(PROGRAMS:%=$(BUILD)/%)

help:
	@echo "make deps | all | check | asan | fuzz | run | install | clean"

deps deps-bench deps-valgrind:
	@missing=""; for p in $(DEB_PACKAGES) $(if $(filter deps-bench,$@),$(BENCH_PACKAGES)) \
		$(if $(filter deps-valgrind,$@),$(VALGRIND_PACKAGES)); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libsignerd.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# --as-needed whatever LDFLAGS says (make asan sets its own): signerd links no libcurl, which only
# signerctl's witness client and signerd-push call.
$(BUILD)/%: $(BUILD)/signer/%.o $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# The front: the API over privsep_client.o; nothing pulls signer/core, pkcs11/ or the journal in,
# and --as-needed (whatever LDFLAGS says) keeps LMDB out of its libraries too.
$(BUILD)/signerd-front: $(BUILD)/signer/signerd_front.o $(FRONT_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# The checkpoint pusher (README "Pushing checkpoints"): signer/push/ and base only, so that it maps
# neither the HSM module nor LMDB; it alone links libcurl (signerd's spool code does not call it).
$(BUILD)/signerd-push: $(BUILD)/signer/signerd_push.o $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests -Itests/lib -Ipkcs11 -Iapi $(PKG_CFLAGS) $(TEST_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/libtesthelp.a: $(TESTLIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(BUILD)/tests/libtesthelp.a $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS) $(LDLIBS)

# The front's side of the request channels, linked as in signerd-front (its signer.h over the channels).
$(BUILD)/tests/test_privsep_client: $(BUILD)/tests/test_privsep_client.o $(BUILD)/signer/privsep/privsep_client.o \
    $(BUILD)/tests/libtesthelp.a $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS) $(LDLIBS)

$(BUILD)/tests/modules/common/%.pic.o: tests/modules/common/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(filter-out -fPIE,$(CFLAGS)) -fPIC -c -o $@ $<

$(BUILD)/tests/modules/%.so: tests/modules/%.c $(TEST_MODULE_COMMON_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(filter-out -fPIE,$(CFLAGS)) -fPIC -shared -o $@ $< \
		$(TEST_MODULE_COMMON_OBJS) -ldl $(LDLIBS)

BENCH_BIN := $(BUILD)/tests/bench/signerd-bench
$(BENCH_BIN): $(BENCH_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/tests/libtesthelp.a $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs libssl) $(LDLIBS)

# The benchmark: raw HSM signing rate and end-to-end issuance in one run
# (BENCH_KEY=, BENCH_SECONDS=, BENCH_CONC=; BENCH_HSM=latency=10ms,parallel=8
# signs through the network HSM model, tests/modules/hsm_sim.so; BENCH_PEER=cfssl
# also drives cfssl serve, step for step, and prints ratio_peer; see README).
bench: deps-bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN) $(BUILD)/tests/modules/hsm_sim.so
	BUILD=$(BUILD) bash tests/bench/run.sh

# The denial-of-service attack tool (issue 11): test code, run by
# tests/integration/test_dos.sh and by `make bench-dos` (BENCH_SECONDS=).
DOS_BIN := $(BUILD)/tests/tools/signerd-dos
DOS_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/tools/dos/*.c) \
	tests/bench/bench_conn.c tests/bench/bench_csr.c tests/bench/bench_stats.c)
$(DOS_BIN): $(DOS_OBJS) $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs libssl) $(LDLIBS)
test integration: $(DOS_BIN)

# More issuers than a slow HSM serves (issue 18): tests/integration/test_backpressure.sh.
OVERLOAD_BIN := $(BUILD)/tests/tools/signerd-overload
OVERLOAD_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/tools/overload/*.c) \
	tests/bench/bench_conn.c tests/bench/bench_csr.c tests/bench/bench_stats.c)
$(OVERLOAD_BIN): $(OVERLOAD_OBJS) $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs libssl) $(LDLIBS)
test integration: $(OVERLOAD_BIN)

# The hostile front that tests/test_privsep.c sets against the signer's permit table.
EVIL_BIN := $(BUILD)/tests/tools/privsep-evil
$(EVIL_BIN): $(BUILD)/tests/tools/privsep/privsep_evil.o $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)
test unit: $(EVIL_BIN)
.PHONY: bench-dos
bench-dos: deps
	@$(MAKE) --no-print-directory all $(DOS_BIN)
	BUILD=$(BUILD) bash tests/tools/dos/bench-dos.sh

JOURNAL_FILL := $(BUILD)/tests/tools/journal-fill
$(JOURNAL_FILL): $(BUILD)/tests/tools/journal_fill.o $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# Durable appends under concurrency (not part of the tests):
# journal-append-bench DIR [THREADS [SECONDS [SIGN_US]]].
JOURNAL_APPEND_BENCH := $(BUILD)/tests/tools/journal-append-bench
$(JOURNAL_APPEND_BENCH): $(BUILD)/tests/tools/journal_append_bench.o $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# Journal verification at scale: fill a journal with BENCH_RECORDS records
# (default one million), then time `signerctl audit verify` on it.
BENCH_RECORDS ?= 1000000
bench-journal: deps
	@$(MAKE) --no-print-directory all $(JOURNAL_FILL)
	@rm -rf $(BUILD)/bench/journal-fill $(BUILD)/bench/journal-fill.pub.pem && mkdir -p $(BUILD)/bench
	$(JOURNAL_FILL) $(BUILD)/bench/journal-fill $(BENCH_RECORDS)
	@start=$$(date +%s.%N); \
	$(BUILD)/signerctl audit verify --journal $(BUILD)/bench/journal-fill \
		--pubkey $(BUILD)/bench/journal-fill.pub.pem; rc=$$?; \
	end=$$(date +%s.%N); \
	echo "bench-journal records=$(BENCH_RECORDS) verify_s=$$(awk "BEGIN { printf \"%.2f\", $$end - $$start }")"; exit $$rc

# `make check` installs what it needs first, then builds and tests in a
# fresh make so that pkg-config sees the installed libraries.
check: deps
	@$(MAKE) --no-print-directory test

# The include rule between folders (README, "Design"), before anything is built.
layers:
	bash tests/check_layers.sh

test: layers all $(TESTS) $(TEST_MODULES) $(if $(filter yes,$(FUZZ)),fuzz-build)
	BUILD=$(BUILD) FUZZ=$(FUZZ) $(FUZZ_ENV) bash tests/run-all.sh

unit: all $(TESTS) $(TEST_MODULES)
	BUILD=$(BUILD) bash tests/run-all.sh unit

integration: all $(TEST_MODULES)
	BUILD=$(BUILD) bash tests/run-all.sh integration

# Every unit test program under valgrind's memcheck (slow; not in `make check`).
valgrind: deps-valgrind
	@$(MAKE) --no-print-directory all $(TESTS) $(TEST_MODULES)
	BUILD=$(BUILD) bash tests/valgrind.sh

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: deps
	@LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
		ASAN_OPTIONS=fast_unwind_on_malloc=0 $(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" FUZZ=no test

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	$(FUZZ_ENV) bash tests/run-all.sh fuzz

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BINS) $(FUZZ_LIB_OBJS) $(FUZZ_UTIL_OBJS) $(FUZZ_NAMES:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%.o): | fuzz-cc
fuzz-cc:
	@command -v $(FUZZ_CC) >/dev/null && [ -f "$$($(FUZZ_CC) -print-file-name=libclang_rt.fuzzer-x86_64.a)" ] || \
		{ echo "make fuzz: $(FUZZ_CC) with libFuzzer is missing; run 'make deps'" >&2; exit 1; }

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -Itests -Itests/lib -Ipkcs11 -Iapi $(PKG_CFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libsignerd.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_UTIL_OBJS) $(FUZZ_BUILD)/libsignerd.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# The seed corpora (tests/fuzz/corpus/) are checked in; this makes them again.
$(FUZZ_SEEDS_BIN): $(BUILD)/tests/fuzz/seeds.o $(BUILD)/tests/fuzz/harness.o $(BUILD)/libsignerd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)
fuzz-seeds: $(FUZZ_SEEDS_BIN)
	bash tests/fuzz/make_seeds.sh $(FUZZ_SEEDS_BIN)

# Create the demo state once (SoftHSM token, CA keys in it, certificates,
# TLS identities, config) under $(DEMO_DIR), then serve it in the foreground.
run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) DEMO_DIR=$(DEMO_DIR) PORT=$(PORT) CA_KEY_TYPE=$(CA_KEY_TYPE) \
		bash packaging/demo.sh run

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) DEMO_DIR=$(DEMO_DIR) PORT=$(PORT) CA_KEY_TYPE=$(CA_KEY_TYPE) \
		bash packaging/demo.sh init

install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(libexecdir)/signerd
	install -m 0755 $(BUILD)/signerd $(DESTDIR)$(sbindir)/signerd
	install -m 0755 $(BUILD)/signerd-front $(DESTDIR)$(libexecdir)/signerd/signerd-front
	install -m 0755 $(BUILD)/signerd-push $(DESTDIR)$(libexecdir)/signerd/signerd-push
	install -m 0755 $(BUILD)/signerctl $(DESTDIR)$(bindir)/signerctl

# The version (signerd --version, signerctl --version, the Debian package): VERSION only.
VERSION := $(shell cat VERSION)
$(BUILD)/signer/signerd.o $(BUILD)/signer/signerctl.o: VERSION
$(BUILD)/signer/signerd.o $(BUILD)/signer/signerctl.o: CPPFLAGS += -DSD_VERSION='"$(VERSION)"'
# Where signerd finds signerd-front when it is not beside it (an install, not a build tree).
$(BUILD)/signer/signerd.o: CPPFLAGS += -DSD_LIBEXECDIR='"$(libexecdir)/signerd"'

# The Debian package (README, "Install on a server"): the sources and
# packaging/debian/ are copied to $(DEB_DIR)/signerd-VERSION and built there
# with debhelper and Debian's build flags, so nothing in the tree changes;
# the copy goes once the package is made. `make deb` and `make check`
# (tests/integration/test_package.sh, which also uses strace) install
# DEB_BUILD_PACKAGES first.
DEB_BUILD_PACKAGES := debhelper lintian man-db systemd strace
DEB_BUILD_OPTIONS ?= parallel=2
DEB_DIR := $(BUILD)/deb
DEB_TREE := Makefile VERSION include signer pkcs11 api packaging
DEB_FILE = $(DEB_DIR)/signerd_$(VERSION)_$(shell dpkg --print-architecture).deb
.PHONY: deb deps-deb
check: deps-deb
deps-deb: deps
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(DEB_PACKAGES) $(DEB_BUILD_PACKAGES)"

deb: deps-deb
	@$(MAKE) --no-print-directory $(DEB_FILE)
	@echo "make deb: $(DEB_FILE)"

$(DEB_DIR)/signerd_%.deb: $(shell find $(DEB_TREE) -type f 2>/dev/null)
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/signerd-$(VERSION)
	cp -R $(DEB_TREE) $(DEB_DIR)/signerd-$(VERSION)/
	cp -R packaging/debian $(DEB_DIR)/signerd-$(VERSION)/debian
	printf 'signerd (%s) unstable; urgency=medium\n\n  * signerd %s.\n\n -- %s  %s\n' '$(VERSION)' '$(VERSION)' \
		"$$(sed -n 's/^Maintainer: //p' packaging/debian/control)" \
		"$$(git log -1 --format=%cD 2>/dev/null || date -R)" >$(DEB_DIR)/signerd-$(VERSION)/debian/changelog
	cd $(DEB_DIR)/signerd-$(VERSION) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u CFLAGS \
		-u CPPFLAGS -u LDFLAGS DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS)" dpkg-buildpackage -b -us -uc
	rm -rf $(DEB_DIR)/signerd-$(VERSION)

clean:
	rm -rf build build-asan build-*/

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)

# ---- Build hardening (issue 13): -Wconversion and `make lint` ----
# -Wconversion on every folder of the project (a new folder must build clean
# under it to be listed here).
# override: also appended to a CFLAGS given on the command line (make asan).
CONVERSION_DIRS := signer pkcs11 api tests
$(foreach d,$(CONVERSION_DIRS),$(eval $(BUILD)/$(d)/%.o: override CFLAGS += -Wconversion))
$(BUILD)/tests/modules/%.so: override CFLAGS += -Wconversion

# `make lint`: clang-tidy (.clang-tidy) on every C file, one stamp per file
# so that a second run checks only what changed since, and cppcheck
# (suppressions in tests/cppcheck.supp) on the whole tree. Any finding fails.
# `make deps-lint` installs both; LINT_JOBS= parallel checks (default: CPUs).
LINT_PACKAGES := cppcheck clang-tidy
LINT_DIR := $(BUILD)/lint
LINT_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CLANG_TIDY ?= clang-tidy
CPPCHECK ?= cppcheck
LINT_SRCS := $(sort $(wildcard signer/*.c signer/*/*.c pkcs11/*.c api/*.c tests/*.c tests/*/*.c tests/*/*/*.c))
LINT_HDRS := $(wildcard include/*.h signer/*/*.h pkcs11/*.h api/*.h tests/*/*.h tests/*/*/*.h)
# Library headers as system headers: their findings are not ours.
LINT_INC = $(CPPFLAGS) $(patsubst -I%,-isystem %,$(PKG_CFLAGS))
LINT_WARN = $(filter-out -Werror,$(WARN))
$(LINT_DIR)/tests/%: LINT_INC += -Itests -Itests/lib -Ipkcs11 -Iapi $(patsubst -I%,-isystem %,$(TEST_CFLAGS))
$(LINT_DIR)/signer/signerd.c.tidy $(LINT_DIR)/signer/signerctl.c.tidy: LINT_INC += -DSD_VERSION='"$(VERSION)"'
$(foreach d,$(CONVERSION_DIRS),$(eval $(LINT_DIR)/$(d)/%: LINT_WARN += -Wconversion))

.PHONY: lint lint-tidy lint-cppcheck deps-lint
deps-lint:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(DEB_PACKAGES) $(LINT_PACKAGES)"

lint: deps-lint
	@$(MAKE) --no-print-directory -k -j$(LINT_JOBS) lint-tidy lint-cppcheck

lint-tidy: $(LINT_SRCS:%=$(LINT_DIR)/%.tidy)

$(LINT_DIR)/%.c.tidy: %.c .clang-tidy $(LINT_HDRS)
	@mkdir -p $(@D)
	@echo "clang-tidy $<"
	@$(CLANG_TIDY) --quiet $< -- -std=c11 $(LINT_INC) $(LINT_WARN) >$@.log 2>&1; rc=$$?; \
		grep -v '^[0-9]* warnings\? generated\.$$' $@.log; rm -f $@.log; [ $$rc -eq 0 ] && touch $@

# The whole tree every time (seconds): an unused suppression is reported too.
lint-cppcheck:
	@echo "cppcheck signer pkcs11 api tests"
	@$(CPPCHECK) --quiet --error-exitcode=1 --std=c11 --platform=unix64 --library=posix,gnu,openssl \
		--enable=warning,style,performance,portability,information --inline-suppr \
		--suppressions-list=tests/cppcheck.supp \
		--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
		-Iinclude -Isigner -Itests -Itests/lib -Ipkcs11 -Iapi \
		-D_DEFAULT_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED -DSD_VERSION='"$(VERSION)"' \
		signer pkcs11 api tests
