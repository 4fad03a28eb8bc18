build/fuzz/fuzz_conf: tests/fuzz/fuzz_conf.c edge/edge.h shared/conf.h \
  shared/diag.h shared/compiler.h shared/limits.h

edge/edge.h:

shared/conf.h:

shared/diag.h:

shared/compiler.h:

shared/limits.h:
