# One entry point: all, check, demo, bench, check-xen, check-cluster, fuzz,
# install, clean.
# Everything lands in build/.  SANITIZE=address,undefined builds with
# sanitizers into build-san/ (so the normal build is never clobbered);
# DEPS=no skips the dependency installer.

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
MODDIR	?= $(PREFIX)/lib/relocd
SYSCONFDIR ?= /etc/xen
# Where systemd looks for units that packages install (Debian: /lib, the
# same directory as /usr/lib with merged /usr).  /etc/systemd/system is
# the administrator's, for overrides.
SYSTEMDUNITDIR ?= /lib/systemd/system
# Pacemaker looks for OCF resource agents here (OCF_ROOT/resource.d),
# whatever PREFIX is.
OCFDIR	?= /usr/lib/ocf/resource.d
ifneq ($(SANITIZE),)
B	:= build-san
else
B	:= build
endif
O	:= $(B)/obj

CC	?= cc
PKGS	:= libevent openssl json-c libseccomp
CHECKPKG := check

CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	   -Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wpointer-arith \
	   -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation -Wno-unused-parameter \
	   -fno-strict-aliasing -MMD -MP \
	   -Icommon -Ixenops $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
# Full RELRO: the GOT is read-only once the program has started.  Bound
# at start, too, every symbol is resolved once in relocd's parent rather
# than again (a lookup and a copy-on-write GOT page) in each network
# process it forks.
LDFLAGS	+= -Wl,-z,relro -Wl,-z,now

# The libxl backend is built when libxenlight's headers are here (Debian:
# libxen-dev); without them relocd says at run time that the backend is
# not available.  xmig never talks to Xen.
#
# The backend is a module, $(B)/relocd-libxl.so, that relocd dlopens only
# for backend = "libxl" (xenops/xenops.c), looking next to its own
# executable, then in MODDIR (compiled in; make install puts it there).
# Linked into relocd, libxenlight and some fifteen Xen and compression
# libraries cost every relocd process, sim hosts included, about 1 MB of
# resident memory.
#
# The module calls back into relocd (log_*, ioc_*, clock_mono_us,
# xo_fail).  relocd exports exactly those, listed in
# xenops/libxl-module.dynlist (--dynamic-list), rather than all its
# symbols (-rdynamic: any of them could then interpose on a library's
# symbol of the same name), and the module does not carry its own log.o
# and iochan.o (-fPIC copies: a second log state, whose lines would not
# go where relocd's go).  The module is compiled with hidden visibility,
# so it exports only its table and its internal calls cannot be
# interposed on.
# scripts/check-dynlist.sh holds the list to what the module calls.
XENPKGS	:= xenlight xlutil xentoollog xenstore
HAVE_LIBXL := $(shell pkg-config --exists $(XENPKGS) 2>/dev/null && echo yes)
ifeq ($(HAVE_LIBXL),yes)
CFLAGS	+= -DHAVE_LIBXL $(shell pkg-config --cflags $(XENPKGS))
XENOPS_LIBS := $(shell pkg-config --libs $(XENPKGS))
LIBXL_MOD := $(B)/relocd-libxl.so
# The lease holder (xenops/leaseholder.c) runs in the module's monitors;
# relocd itself never calls it, so the module carries its own PIC copy.
LIBXL_OBJ := $(O)/xenops/xenops_libxl.o $(O)/mod/xenops/leaseholder.o
LIBXL_DYNLIST := xenops/libxl-module.dynlist
RELOCD_LDFLAGS := -Wl,--dynamic-list=$(LIBXL_DYNLIST)
endif

ifneq ($(SANITIZE),)
# Every report is fatal: a sanitizer run with reports must not pass.
CFLAGS	+= -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer -O1
LDFLAGS	+= -fsanitize=$(SANITIZE)
endif

COMMON_SRCS := $(wildcard common/*.c)
XENOPS_SRCS := $(filter-out xenops/xenops_libxl.c,$(wildcard xenops/*.c))
RELOCD_SRCS := $(wildcard relocd/*.c)
XMIG_SRCS   := $(wildcard xmig/*.c)
UNIT_SRCS   := $(wildcard tests/unit/check_*.c)
ifneq ($(HAVE_LIBXL),yes)
UNIT_SRCS   := $(filter-out tests/unit/check_libxl.c,$(UNIT_SRCS))
endif

COMMON_OBJS := $(COMMON_SRCS:%.c=$(O)/%.o)
XENOPS_OBJS := $(XENOPS_SRCS:%.c=$(O)/%.o)
RELOCD_OBJS := $(RELOCD_SRCS:%.c=$(O)/%.o)
XMIG_OBJS   := $(XMIG_SRCS:%.c=$(O)/%.o)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
# Helpers the integration scenarios run (the fault-injecting proxy), and
# fakexen.so, preloaded to open a libxl ctx without Xen (libxl builds only).
TOOL_SRCS   := $(filter-out tests/tools/fakexen.c,$(wildcard tests/tools/*.c))
TOOL_BINS   := $(TOOL_SRCS:tests/tools/%.c=$(B)/tests/tools/%) \
	       $(B)/tests/relocd-testing
ifeq ($(HAVE_LIBXL),yes)
TOOL_BINS   += $(B)/tests/tools/fakexen.so
endif

PROGS	:= $(B)/relocd $(B)/xmig $(LIBXL_MOD)
# relocd with the test-only requests (RELOCD_TESTING), for make check; it
# is never installed.
TESTING_OBJS := $(RELOCD_SRCS:%.c=$(O)/testing/%.o)

.PHONY: all check unit integration demo bench bench-progs check-xen \
	check-cluster fuzz \
	fuzz-progs itest-root FORCE \
	install deps clean lint man-lint

all: $(PROGS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libcommon.a: $(COMMON_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/libxenops.a: $(XENOPS_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# The module directory is compiled into xenops.o: rebuild it when MODDIR
# (or PREFIX) changes, or make install PREFIX=/usr after a plain make
# would install a relocd that looks in /usr/local/lib/relocd.
$(O)/xenops/xenops.o: CFLAGS += -DRELOCD_MODDIR='"$(MODDIR)"'
$(O)/xenops/xenops.o: $(B)/moddir.stamp
$(B)/moddir.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(MODDIR)' | cmp -s - $@ || echo '$(MODDIR)' > $@

$(B)/relocd: $(RELOCD_OBJS) $(B)/libxenops.a $(B)/libcommon.a $(LIBXL_DYNLIST)
	$(CC) $(LDFLAGS) $(RELOCD_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

ifeq ($(HAVE_LIBXL),yes)
$(LIBXL_OBJ): CFLAGS += -fPIC -fvisibility=hidden
$(O)/mod/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Checked against the relocd that will load it (scripts/check-dynlist.sh).
$(LIBXL_MOD): $(LIBXL_OBJ) $(B)/relocd $(LIBXL_DYNLIST) scripts/check-dynlist.sh
	$(CC) $(LDFLAGS) -shared -o $@ $(LIBXL_OBJ) $(XENOPS_LIBS) \
	    -Wl,--as-needed $(shell pkg-config --libs openssl json-c)
	@sh scripts/check-dynlist.sh $@ $(B)/relocd $(LIBXL_DYNLIST) || \
	    { rm -f $@; exit 1; }
endif

$(O)/testing/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DRELOCD_TESTING -c -o $@ $<

$(B)/tests/relocd-testing: $(TESTING_OBJS) $(B)/libxenops.a $(B)/libcommon.a \
    $(LIBXL_DYNLIST)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(RELOCD_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

$(B)/xmig: $(XMIG_OBJS) $(B)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/unit/%.o: CFLAGS += $(shell pkg-config --cflags $(CHECKPKG) 2>/dev/null)

$(B)/tests/%: $(O)/tests/unit/%.o $(B)/libxenops.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) \
	    $(shell pkg-config --libs $(CHECKPKG) 2>/dev/null)

# check_hx tests relocd's side of the helper channel: its one object.
$(O)/tests/unit/check_hx.o: CFLAGS += -Irelocd
$(B)/tests/check_hx: $(O)/tests/unit/check_hx.o $(O)/relocd/hx.o \
    $(B)/libxenops.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) \
	    $(shell pkg-config --libs $(CHECKPKG) 2>/dev/null)

# check_libxl links the backend's object and libxenlight directly, not the
# module: it calls the backend's internal functions (hidden in the
# module), and it replaces libxenctrl's and libxenstore's openers with its
# own, which a static link does plainly.  The loading is checked by
# tests/integration/t_backend_module.sh, against the real module.
ifeq ($(HAVE_LIBXL),yes)
$(B)/tests/check_libxl: $(O)/tests/unit/check_libxl.o $(LIBXL_OBJ) \
    $(B)/libxenops.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(XENOPS_LIBS) \
	    $(shell pkg-config --libs $(CHECKPKG) 2>/dev/null)
endif

$(B)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(B)/tests/tools/%.so: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -fPIC -shared -o $@ $<

deps:
ifneq ($(DEPS),no)
	@sh scripts/deps.sh
endif

# Unit suites first (fast, pinpoint), then the scenarios with real daemons.
check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(TOOL_BINS) \
	    $(REPLAY_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)
	@sh tests/fuzz/replay-seeds.sh $(REPLAY_BINS)
	@$(MAKE) --no-print-directory itest-root
	@$(ITEST_ENV) sh $(ITEST_RUN)

unit: all $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

integration: all $(TOOL_BINS)
	@sh tests/integration/run.sh $(T)

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

# Real Xen hosts in QEMU (tests/xen/README says what it needs and costs).
check-xen: deps
	@$(MAKE) --no-print-directory all
	@bash tests/xen/run.sh

# A real three-node Pacemaker + Corosync cluster on this machine, driving
# the OCF agent (ocf/xendomain) with relocd as its transport
# (tests/cluster/run.sh says what it runs; it skips where it cannot).
# Its packages come from `deps.sh cluster`, so make check never needs them.
check-cluster: deps
ifneq ($(DEPS),no)
	@sh scripts/deps.sh cluster
endif
	@$(MAKE) --no-print-directory all
	@bash tests/cluster/run.sh

# Ratios measured side by side in one run (tests/bench/).  The programs
# under test are built optimised, without assertions, in their own tree
# (build/bench-opt) so that the -O2 -g build the tests use is untouched;
# the baseline helpers land in build/bench/.  Bench-only packages (sshd,
# gnuplot) come from `deps.sh bench`, so make check never needs them.
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(B)/bench/%)

$(B)/bench/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

bench-progs: $(BENCH_BINS)

bench: deps
ifneq ($(DEPS),no)
	@sh scripts/deps.sh bench
endif
	@env CFLAGS="-O2 -DNDEBUG" $(MAKE) --no-print-directory \
	    B=$(B)/bench-opt all
	@$(MAKE) --no-print-directory bench-progs
	@bash tests/bench/run.sh

# The integration scripts run the programs in ROOT/build, ROOT being the
# tree they live in.  For another build tree (SANITIZE=..., B=...) they
# run from $(B)/root: links to the sources, with build -> $(B).  Leak
# reports at exit of the short-lived programs would change xmig's exit
# status, so the scenarios run with leak detection off; the unit suites
# keep it.
ifeq ($(B),build)
ITEST_RUN := tests/integration/run.sh
ITEST_ENV :=
else
ITEST_RUN := $(B)/root/tests/integration/run.sh
ITEST_ENV := ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
endif

itest-root:
ifneq ($(B),build)
	@mkdir -p $(B)/root
	@for d in common etc man relocd scripts tests xenops xmig; do \
	    ln -sfn $(CURDIR)/$$d $(B)/root/$$d; done
	@ln -sfn $(abspath $(B)) $(B)/root/build
endif

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang into
# $(B)/fuzz/, each run for a bounded time (FUZZ_SECONDS, default 60;
# FUZZ_SMOKE=1: a few seconds each plus the seed corpus, for CI).
FUZZ_CC	?= clang-14
FZ	:= $(B)/fuzz
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined \
	      -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	      -Wno-unknown-warning-option -Irelocd
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FZ)/%)
FUZZ_COMMON_OBJS := $(COMMON_SRCS:%.c=$(FZ)/obj/%.o)
# relocd's worker code, for fuzz_session (main() is libFuzzer's).
FUZZ_RELOCD_OBJS := $(filter-out $(FZ)/obj/relocd/relocd.o, \
	$(RELOCD_SRCS:%.c=$(FZ)/obj/%.o))

$(FZ)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) $(FUZZ_FLAGS) -c -o $@ $<

$(FZ)/libcommon.a: $(FUZZ_COMMON_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FZ)/librelocd.a: $(FUZZ_RELOCD_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FZ)/fuzz_%: $(FZ)/obj/tests/fuzz/fuzz_%.o $(FZ)/librelocd.a \
    $(FZ)/libcommon.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

fuzz-progs: $(FUZZ_BINS)

# The same targets built with $(CC) and the tree's flags, without
# libFuzzer (tests/fuzz/replay.c): make check replays the seed corpora
# through them, so a harness that stops linking or a seed that crashes
# fails there too.  Only fuzz_session pulls relocd's worker code out of
# the archive; it stubs the backend, so libxenops is not linked.
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(B)/tests/replay_%)
REPLAY_RELOCD_OBJS := $(filter-out $(O)/relocd/relocd.o,$(RELOCD_OBJS))

$(O)/tests/fuzz/%.o: CFLAGS += -Irelocd

$(B)/librelocd-replay.a: $(REPLAY_RELOCD_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/tests/replay_%: $(O)/tests/fuzz/fuzz_%.o $(O)/tests/fuzz/replay.o \
    $(B)/librelocd-replay.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.SECONDARY: $(FUZZ_SRCS:%.c=$(FZ)/obj/%.o)

fuzz: deps
ifneq ($(DEPS),no)
	@sh scripts/deps.sh fuzz
endif
	@$(MAKE) --no-print-directory fuzz-progs
	@env FUZZ_DIR=$(FZ) bash tests/fuzz/run.sh

man-lint:
	mandoc -T lint -W warning man/*.[1578]

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSCONFDIR)/relocd $(DESTDIR)$(SYSTEMDUNITDIR) \
	    $(DESTDIR)$(OCFDIR)/relocd
	install -m 755 $(B)/relocd $(DESTDIR)$(SBINDIR)/relocd
	install -m 755 $(B)/xmig $(DESTDIR)$(BINDIR)/xmig
	install -m 755 scripts/relocd-pki $(DESTDIR)$(SBINDIR)/relocd-pki
	install -m 644 man/xmig.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/relocd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/relocd.8 man/relocd-pki.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 man/ocf_relocd_xendomain.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 755 ocf/xendomain $(DESTDIR)$(OCFDIR)/relocd/xendomain
	@# The unit names relocd by its default path: the one this install
	@# uses instead (PREFIX, SBINDIR).
	sed 's|/usr/local/sbin/relocd|$(SBINDIR)/relocd|g' etc/relocd.service \
	    > $(DESTDIR)$(SYSTEMDUNITDIR)/relocd.service.tmp
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/relocd.service.tmp
	mv $(DESTDIR)$(SYSTEMDUNITDIR)/relocd.service.tmp \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/relocd.service
ifeq ($(HAVE_LIBXL),yes)
	install -d $(DESTDIR)$(MODDIR)
	install -m 644 $(LIBXL_MOD) $(DESTDIR)$(MODDIR)/relocd-libxl.so
endif
	test -e $(DESTDIR)$(SYSCONFDIR)/relocd.conf || \
	    install -m 644 etc/relocd.conf $(DESTDIR)$(SYSCONFDIR)/relocd.conf
	@# The network processes' user (relocd.conf: user).  Not for a staged
	@# install: a package creates it in its maintainer scripts.
	@if [ -z "$(DESTDIR)" ] && ! getent passwd relocd >/dev/null; then \
	    echo "creating the system user relocd"; \
	    useradd --system --user-group --no-create-home \
	        --home-dir /nonexistent --shell /usr/sbin/nologin relocd; \
	fi

clean:
	rm -rf $(B)

-include $(shell find $(O) $(FZ)/obj -name '*.d' 2>/dev/null)
