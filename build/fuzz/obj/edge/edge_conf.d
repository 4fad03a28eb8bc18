build/fuzz/obj/edge/edge_conf.o: edge/edge_conf.c edge/edge.h \
  shared/conf.h shared/diag.h shared/compiler.h shared/limits.h \
  shared/alloc.h shared/log.h shared/banned.h

edge/edge.h:

shared/conf.h:

shared/diag.h:

shared/compiler.h:

shared/limits.h:

shared/alloc.h:

shared/log.h:

shared/banned.h:
