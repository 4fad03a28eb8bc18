build/fuzz/fuzz_json: tests/fuzz/fuzz_json.c shared/json.h shared/diag.h \
  shared/compiler.h shared/limits.h

shared/json.h:

shared/diag.h:

shared/compiler.h:

shared/limits.h:
