# tests/: cmocka unit tests (built with ASan+UBSan), integration scripts, fuzz targets.
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(S)/tests/%)
SAN_LIBS  := $(S)/libedge.a $(S)/librelay.a $(S)/libshared.a
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_SECONDS ?= 60

TEST_STAMP := $(B)/.deps-test-$(DEPS)
$(B)/.deps-test-1: install/deps.sh
	$(Q)mkdir -p $(B)
	$(Q)sh install/deps.sh test
	$(Q)touch $@
$(B)/.deps-test-0:
	$(Q)mkdir -p $(B) && touch $@

$(S)/tests/%: tests/unit/%.c $(SAN_LIBS) | $(TEST_STAMP)
	$(E) UNIT $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_CFLAGS) -Itests/unit -o $@ $< $(SAN_LIBS) $(SAN_LDFLAGS) $(DEPLIBS) -lcmocka

# Fuzz targets: clang + libFuzzer; project code is compiled again with coverage hooks.
FUZZ_CFLAGS = $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LIBOBJ = $(patsubst %.c,$(B)/fuzz/obj/%.o,$(SHARED_SRC) $(EDGE_SRC) $(RELAY_SRC))
$(B)/fuzz/obj/%.o: %.c | $(TEST_STAMP) $(BPF_SKELS)
	$(E) FUZZCC $<
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -Wno-unused-command-line-argument -c $< -o $@
$(B)/fuzz/libfuzzlib.a: $(FUZZ_LIBOBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
$(B)/fuzz/%: tests/fuzz/%.c $(B)/fuzz/libfuzzlib.a | $(TEST_STAMP)
	$(E) FUZZ $@
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.a,$^) $(DEPLIBS)

# Helper programs the integration scripts drive (tests/tools/NAME.c -> build/tests/NAME),
# linked against the same libraries as the daemons.
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/%)
$(B)/tests/%: tests/tools/%.c $(B)/libedge.a $(B)/libshared.a | $(DEPS_STAMP)
	$(E) TOOL $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libedge.a $(B)/libshared.a $(DEPLIBS)

.PHONY: check-build
check-build: $(TEST_STAMP) all $(UNIT_BINS) $(FUZZ_BINS) $(TOOL_BINS) $(S)/ongrid-edge $(S)/ongrid-relay

check: deps
	$(Q)$(MAKE) --no-print-directory check-build
	$(Q)sh tests/run

# Every target for FUZZ_SECONDS on a scratch copy of its corpus (findings and the grown
# corpora under build/fuzz-campaign/); the figures in docs/RELIABILITY.md come from here.
fuzz: $(FUZZ_BINS)
	$(Q)sh tests/fuzz/campaign.sh $(FUZZ_SECONDS)
