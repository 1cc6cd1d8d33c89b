# Build, test and install cachewatch: BPF object + skeleton, agent, tests.
VERSION ?= 0.1.0
REVISION ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# BPF target arch from the machine, as libbpf-tools does; vmlinux.h exists per arch.
MACHINE := $(shell uname -m)
ARCH ?= $(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(MACHINE)))
ifeq ($(wildcard vmlinux/$(ARCH)/vmlinux.h),)
$(error unsupported architecture '$(MACHINE)' (ARCH=$(ARCH)): no vmlinux/$(ARCH)/vmlinux.h; generate one with 'make vmlinux ARCH=$(ARCH)' on such a machine)
endif
BUILD ?= build
SAN ?=
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin

# `make V=1` prints full commands; by default one short line per step.
ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

# A recipe that fails leaves no half-written target behind.
.DELETE_ON_ERROR:

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool

CFLAGS_BASE := -O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser -I$(BUILD)
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
endif
CFLAGS ?=
CFLAGS += $(CFLAGS_BASE)
LDLIBS := -lbpf -lelf -lz -lmicrohttpd -lyaml -lcrypt -lgnutls -lpthread -lm

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Iinclude -Ivmlinux/$(ARCH) \
	-Wall -Werror -Wno-unused-function

USER_SRCS := $(sort $(wildcard user/*/*.c))
USER_HDRS := $(wildcard user/*/*.h)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
MAIN_OBJ := $(BUILD)/user/cli/main.o
LIB_OBJS := $(filter-out $(MAIN_OBJ),$(USER_OBJS)) $(BUILD)/proto/metrics.pb-c.o
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
ITEST_SRCS := $(sort $(wildcard tests/integration/*.c))
ITEST_BINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(ITEST_SRCS))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(TOOL_SRCS))
BENCH_SRCS := $(sort $(filter-out %.bpf.c,$(wildcard bench/*.c)))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))


.PHONY: all deps run vmlinux clean test test-unit test-asan test-integration test-vm test-vm-full test-fuzz fuzz bench bench-vm tests-bin

all: $(BUILD)/cachewatch cachewatch

cachewatch: $(BUILD)/cachewatch
	ln -sf $(BUILD)/cachewatch $@

deps:
	@sh deploy/install-deps.sh

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

$(BUILD)/cachewatch.bpf.o: bpf/cachewatch.bpf.c $(wildcard bpf/*.h) include/cachewatch.h vmlinux/$(ARCH)/vmlinux.h
	@mkdir -p $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/cachewatch.skel.h: $(BUILD)/cachewatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name cachewatch_bpf > $@

$(BUILD)/user/%.o: user/%.c $(USER_HDRS) include/cachewatch.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/user/dataplane/loader.o: $(BUILD)/cachewatch.skel.h

# The protobuf exposition's message code, generated from proto/metrics.proto by
# Debian's protoc-c (docs/metrics.md); user code includes "proto/metrics.pb-c.h".
PROTOC_C ?= protoc-c
LDLIBS += -lprotobuf-c
$(BUILD)/proto/metrics.pb-c.c $(BUILD)/proto/metrics.pb-c.h &: proto/metrics.proto
	@mkdir -p $(BUILD)/proto
	$(call msg,PROTOC-C,$@)
	$(Q)$(PROTOC_C) --proto_path=proto --c_out=$(BUILD)/proto $<

$(BUILD)/proto/metrics.pb-c.o: $(BUILD)/proto/metrics.pb-c.c $(BUILD)/proto/metrics.pb-c.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/user/http/exposition_proto.o: $(BUILD)/proto/metrics.pb-c.h

# Only the files that print the version see it, so a new commit does not
# rebuild everything; the stamp changes only when the revision does.
VERSION_OBJS := $(MAIN_OBJ) $(BUILD)/user/agent/agent.o
$(VERSION_OBJS): CFLAGS += -DCW_VERSION='"$(VERSION)"' -DCW_REVISION='"$(REVISION)"'
$(VERSION_OBJS): $(BUILD)/revision.stamp
$(BUILD)/revision.stamp: FORCE
	@mkdir -p $(BUILD)
	@echo '$(VERSION) $(REVISION)' | cmp -s - $@ || echo '$(VERSION) $(REVISION)' > $@
FORCE:

$(BUILD)/libcachewatch.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/cachewatch: $(MAIN_OBJ) $(BUILD)/libcachewatch.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $(LDFLAGS_SAN) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libcachewatch.a $(wildcard tests/unit/*.h)
	@mkdir -p $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libcachewatch.a $(LDFLAGS_SAN) $(LDLIBS) -lcmocka

# The data-plane tests drive io_uring through liburing (tests/integration/dp_harness.h).
$(ITEST_BINS): LDLIBS += -luring

$(BUILD)/tests/%: tests/integration/%.c $(BUILD)/libcachewatch.a $(wildcard tests/integration/*.h)
	@mkdir -p $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libcachewatch.a $(LDFLAGS_SAN) $(LDLIBS)

$(BUILD)/tests/%: tests/tools/%.c
	@mkdir -p $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS_SAN)

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $<

# The benchmarks' floor: empty programs on the hooks cachewatch uses (bench/empty_hooks.c).
$(BUILD)/bench/empty_hooks.bpf.o: bench/empty_hooks.bpf.c vmlinux/$(ARCH)/vmlinux.h
	@mkdir -p $(BUILD)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/empty_hooks.skel.h: $(BUILD)/bench/empty_hooks.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name empty_hooks_bpf > $@

$(BUILD)/bench/empty_hooks: bench/empty_hooks.c $(BUILD)/bench/empty_hooks.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(BUILD)/bench -o $@ $< -lbpf -lelf -lz

tests-bin: $(BUILD)/cachewatch $(UNIT_BINS) $(ITEST_BINS) $(TOOL_BINS) $(BENCH_BINS)

# Everything: unit tests, the same under ASan/UBSan, BPF integration on this
# kernel, the qemu kernel matrix, and a short fuzz run.
test: deps
	$(MAKE) all
	sh tests/run.sh all

test-unit: tests-bin
	sh tests/run.sh unit

test-asan:
	sh tests/run.sh asan

test-integration: tests-bin
	sh tests/run.sh integration

# make test-vm: the representative subset make test boots; test-vm-full: every kernel (docs/vm.md)
test-vm: tests-bin
	KERNELS=$${KERNELS:-subset} sh tests/vm/run.sh

test-vm-full: tests-bin
	KERNELS=$${KERNELS:-all} sh tests/vm/run.sh

test-fuzz:
	sh tests/run.sh fuzz

fuzz:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} sh tests/run.sh fuzz

bench: tests-bin
	sh bench/run.sh

# fentry and kprobe per-call cost in qemu (bench/vm.sh; KERNELS=..., VM_CACHE=...)
bench-vm: tests-bin
	sh bench/vm.sh

# Runs the agent on the embedded default config (the usual cache dirs that exist,
# report-only). A first try listens on localhost only; ARGS replaces that.
ARGS ?= --web.listen-address localhost:9745
run: deps
	$(MAKE) all
	$(BUILD)/cachewatch run $(ARGS)

clean:
	rm -rf $(BUILD) build-asan cachewatch

# ---- install, package, image, deploy tests ---------------------------------
# `make install PREFIX=/usr DESTDIR=...` is what debian/rules runs. The
# configuration goes to $(SYSCONFDIR)/cachewatch and is never overwritten.
SYSCONFDIR ?= /etc
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/cachewatch
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
UNITS_IN := $(wildcard deploy/systemd/*.in)
UNITS := $(patsubst deploy/systemd/%.in,$(BUILD)/systemd/%,$(UNITS_IN)) \
	$(filter-out $(UNITS_IN),$(wildcard deploy/systemd/*))
INSTALL ?= install

.PHONY: install units deb image test-deploy

$(BUILD)/systemd/%: deploy/systemd/%.in FORCE
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@

units: $(UNITS)

install: $(BUILD)/cachewatch units
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SYSCONFDIR)/cachewatch
	$(INSTALL) -m 0755 $(BUILD)/cachewatch $(DESTDIR)$(BINDIR)/cachewatch
	$(INSTALL) -m 0644 $(UNITS) $(DESTDIR)$(SYSTEMDUNITDIR)/
	$(INSTALL) -m 0644 docs/man/cachewatch.1 $(DESTDIR)$(MANDIR)/man1/cachewatch.1
	$(INSTALL) -m 0644 deploy/completion/cachewatch $(DESTDIR)$(BASHCOMPDIR)/cachewatch
	$(INSTALL) -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 deploy/cachewatch.example.yml deploy/prometheus/cachewatch-rules.yml \
		deploy/grafana/cachewatch.json $(DESTDIR)$(DOCDIR)/examples/
	test -e $(DESTDIR)$(SYSCONFDIR)/cachewatch/cachewatch.yml || \
		$(INSTALL) -m 0644 deploy/cachewatch.yml $(DESTDIR)$(SYSCONFDIR)/cachewatch/cachewatch.yml

# The Debian package, built from a copy of the tree so dpkg-buildpackage's
# output (it writes into the parent directory) lands in $(BUILD)/deb.
deb:
	sh deploy/build-deb.sh $(BUILD)/deb $(VERSION) $(REVISION)

# The OCI image (docs/deploy.md): $(BUILD)/image/cachewatch-$(VERSION).oci.tar.
image: $(BUILD)/cachewatch
	sh deploy/image/build.sh $(BUILD)/cachewatch $(BUILD)/image $(VERSION)

test-deploy: all
	sh tests/run.sh deploy
