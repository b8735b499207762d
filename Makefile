# One entry point: all, check, demo, bench, check-xen, fuzz, install, clean.
# Everything lands in build/.  SANITIZE=address,undefined builds with
# sanitizers; DEPS=no skips the dependency installer.

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc/xen
B	:= build
O	:= $(B)/obj

CC	?= cc
PKGS	:= libevent openssl json-c
CHECKPKG := check

CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	   -Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wpointer-arith \
	   -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation -Wno-unused-parameter \
	   -fno-strict-aliasing -MMD -MP \
	   -Icommon -Ixenops $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

ifneq ($(SANITIZE),)
CFLAGS	+= -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -O1
LDFLAGS	+= -fsanitize=$(SANITIZE)
endif

COMMON_SRCS := $(wildcard common/*.c)
XENOPS_SRCS := $(wildcard xenops/*.c)
RELOCD_SRCS := $(wildcard relocd/*.c)
XMIG_SRCS   := $(wildcard xmig/*.c)
UNIT_SRCS   := $(wildcard tests/unit/check_*.c)

COMMON_OBJS := $(COMMON_SRCS:%.c=$(O)/%.o)
XENOPS_OBJS := $(XENOPS_SRCS:%.c=$(O)/%.o)
RELOCD_OBJS := $(RELOCD_SRCS:%.c=$(O)/%.o)
XMIG_OBJS   := $(XMIG_SRCS:%.c=$(O)/%.o)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

PROGS	:= $(B)/relocd $(B)/xmig

.PHONY: all check unit integration demo bench check-xen fuzz install \
	deps clean lint man-lint format

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

$(B)/relocd: $(RELOCD_OBJS) $(B)/libxenops.a $(B)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/xmig: $(XMIG_OBJS) $(B)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/unit/%.o: CFLAGS += $(shell pkg-config --cflags $(CHECKPKG) 2>/dev/null)

$(B)/tests/%: $(O)/tests/unit/%.o $(B)/libxenops.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) \
	    $(shell pkg-config --libs $(CHECKPKG) 2>/dev/null)

deps:
ifneq ($(DEPS),no)
	@sh scripts/deps.sh
endif

# Unit suites first (fast, pinpoint), then the scenarios with real daemons.
check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)
	@sh tests/integration/run.sh

unit: all $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

integration: all
	@sh tests/integration/run.sh $(T)

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

# Real Xen hosts in QEMU (tests/xen/README says what it needs and costs).
check-xen: deps
	@$(MAKE) --no-print-directory all
	@bash tests/xen/run.sh

# Ratios measured side by side in one run (tests/bench/).
bench: deps
	@$(MAKE) --no-print-directory all
	@bash tests/bench/run.sh

# libFuzzer targets, each for a bounded time (FUZZ_SECONDS, default 60).
fuzz: deps
	@bash tests/fuzz/run.sh

man-lint:
	mandoc -T lint -W warning man/*.[158]

format:
	clang-format -i common/*.[ch] xenops/*.[ch] relocd/*.[ch] xmig/*.[ch]

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/relocd
	install -m 755 $(B)/relocd $(DESTDIR)$(SBINDIR)/relocd
	install -m 755 $(B)/xmig $(DESTDIR)$(BINDIR)/xmig
	install -m 644 man/xmig.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/relocd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/relocd.8 $(DESTDIR)$(MANDIR)/man8/
	test -e $(DESTDIR)$(SYSCONFDIR)/relocd.conf || \
	    install -m 644 etc/relocd.conf $(DESTDIR)$(SYSCONFDIR)/relocd.conf

clean:
	rm -rf $(B)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
