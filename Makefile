# ongrid: the only Makefile. Non-recursive; each directory adds its rules in NAME.mk.
#
#   make            build build/ongrid-edge and build/ongrid-relay (installs deps first)
#   make run        build, then run the main job on this host with embedded defaults
#   make check      build the sanitizer variant and run every unit and integration test
#   make lint       clang-format, cppcheck and clang-tidy over the project's C code
#   make bench      run the benchmarks in bench/ (never part of `make check`)
#   make fuzz       run each fuzz target for FUZZ_SECONDS (default 60), tests/fuzz/campaign.sh
#   make clean      remove build/
#
# Knobs: V=1 echoes commands; BPF=0 builds the edge without its eBPF side;
# DEPS=0 skips the dependency check (install/deps.sh).

V ?= 0
BPF ?= 1
DEPS ?= 1
Q := $(if $(filter 1,$(V)),,@)
E := $(if $(filter 1,$(V)),@:,@printf '  %-7s %s\n')

CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool
B       := build
S       := $(B)/san

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wold-style-definition -Wvla -Wpointer-arith -Wwrite-strings -Wundef \
           -Wnull-dereference
HARDEN  := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection -fcf-protection -fPIE
PKGS    := libbpf libelf libdw libcjson libconfig libcurl libssl libcrypto sqlite3 libpcre2-8 \
           libzstd libsystemd libxxhash libseccomp libcap-ng libwebsockets
DEPCFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEPLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev -lm -lz -lpthread
INCLUDES := -D_GNU_SOURCE -I. -I$(B)/bpf -DONGRID_VERSION='"$(VERSION)"' -DONGRID_BPF=$(BPF)
CFLAGS_COMMON = -std=gnu11 -g -fno-common -MMD -MP $(WARN) $(INCLUDES) $(DEPCFLAGS)
CFLAGS  ?= -O2
ALL_CFLAGS = $(CFLAGS_COMMON) $(CFLAGS) $(HARDEN)
LDFLAGS ?=
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS)
SAN_CFLAGS  = $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all -fPIE
SAN_LDFLAGS = -pie -fsanitize=address,undefined

.PHONY: all deps run check lint bench fuzz clean install format
all: deps $(B)/ongrid-edge $(B)/ongrid-relay

# The main job on embedded defaults: an investigation of this host, right now (the
# offline planner when no relay or model is configured).
run: all
	$(Q)$(B)/ongrid-edge investigate "is this host healthy?"

# Dependencies: install/deps.sh is idempotent and returns at once when nothing is missing.
DEPS_STAMP := $(B)/.deps-$(DEPS)
deps: $(DEPS_STAMP)
$(B)/.deps-1: install/deps.sh
	$(Q)mkdir -p $(B)
	$(Q)sh install/deps.sh build
	$(Q)touch $@
$(B)/.deps-0:
	$(Q)mkdir -p $(B) && touch $@

include shared/shared.mk
include bpf/bpf.mk
include edge/edge.mk
include relay/relay.mk
include tests/tests.mk
include bench/bench.mk

# Generic compile rules: normal and sanitizer objects, out of tree.
$(B)/obj/%.o: %.c | $(DEPS_STAMP) $(BPF_SKELS)
	$(E) CC $<
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(S)/obj/%.o: %.c | $(DEPS_STAMP) $(BPF_SKELS)
	$(E) SANCC $<
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_CFLAGS) -c $< -o $@

# lint needs the test tools (clang-format, cppcheck, clang-tidy: deps.sh test) and the bpf
# skeletons the collectors include, so it works on a fresh clone before any build.
lint: deps $(TEST_STAMP) $(BPF_SKELS)
	$(Q)sh tests/lint.sh

format: $(TEST_STAMP)
	$(Q)git ls-files '*.c' '*.h' | grep -v '^bpf/vmlinux.h$$' | xargs clang-format -i

clean:
	$(E) CLEAN $(B)
	$(Q)rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
