# bench/: side-by-side benchmarks against baselines. Never run by `make check`.
BENCH_STAMP := $(B)/.deps-bench-$(DEPS)
$(B)/.deps-bench-1: install/deps.sh
	$(Q)mkdir -p $(B) && sh install/deps.sh bench && touch $@
$(B)/.deps-bench-0:
	$(Q)mkdir -p $(B) && touch $@

bench: all $(BENCH_STAMP)
	$(Q)sh bench/run $(BENCH)
