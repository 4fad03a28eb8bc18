build/fuzz/obj/relay/relay_conf.o: relay/relay_conf.c relay/relay.h \
  shared/conf.h shared/diag.h shared/compiler.h shared/limits.h \
  shared/log.h shared/banned.h

relay/relay.h:

shared/conf.h:

shared/diag.h:

shared/compiler.h:

shared/limits.h:

shared/log.h:

shared/banned.h:
