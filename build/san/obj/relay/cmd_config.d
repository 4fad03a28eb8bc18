build/san/obj/relay/cmd_config.o: relay/cmd_config.c relay/relay.h \
 shared/conf.h shared/diag.h shared/compiler.h shared/limits.h \
 shared/cli.h shared/banned.h
relay/relay.h:
shared/conf.h:
shared/diag.h:
shared/compiler.h:
shared/limits.h:
shared/cli.h:
shared/banned.h:
