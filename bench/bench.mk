# bench/: side-by-side benchmarks against baselines. Never run by `make check`.
BENCH_STAMP := $(B)/.deps-bench-$(DEPS)
$(B)/.deps-bench-1: install/deps.sh
	$(Q)mkdir -p $(B) && sh install/deps.sh bench && touch $@
$(B)/.deps-bench-0:
	$(Q)mkdir -p $(B) && touch $@

# Drivers that exercise one module directly (no hidden commands in the shipped binary).
BENCH_BINS += $(B)/tsdb_bench
BENCH_BINS += $(B)/logs_bench # bench/logs.sh
BENCH_BINS += $(B)/investigate_bench # bench/investigate.sh

bench: all $(BENCH_STAMP) $(BENCH_BINS)
	$(Q)sh bench/run $(BENCH)

$(B)/tsdb_bench: bench/tsdb_bench.c $(B)/libedge.a $(B)/libshared.a | $(DEPS_STAMP)
	$(E) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libedge.a $(B)/libshared.a $(DEPLIBS)

# bench/logs.sh: synthetic log, the log pipeline on one core, baselines measured alike.
$(B)/logs_bench: bench/logs_bench.c $(B)/libedge.a $(B)/libshared.a | $(DEPS_STAMP)
	$(E) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libedge.a $(B)/libshared.a $(DEPLIBS)

# bench/investigate.sh: offline wall time; tokens against a naive loop with raw tool output.
$(B)/investigate_bench: bench/investigate_bench.c $(B)/libedge.a $(B)/libshared.a | $(DEPS_STAMP)
	$(E) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libedge.a $(B)/libshared.a $(DEPLIBS)
