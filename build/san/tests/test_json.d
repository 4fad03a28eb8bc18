build/san/tests/test_json: tests/unit/test_json.c shared/json.h \
 shared/diag.h shared/compiler.h shared/limits.h
shared/json.h:
shared/diag.h:
shared/compiler.h:
shared/limits.h:
