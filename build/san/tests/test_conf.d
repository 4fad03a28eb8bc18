build/san/tests/test_conf: tests/unit/test_conf.c edge/edge.h \
 shared/conf.h shared/diag.h shared/compiler.h shared/limits.h \
 relay/relay.h
edge/edge.h:
shared/conf.h:
shared/diag.h:
shared/compiler.h:
shared/limits.h:
relay/relay.h:
