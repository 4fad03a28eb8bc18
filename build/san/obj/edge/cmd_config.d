build/san/obj/edge/cmd_config.o: edge/cmd_config.c edge/edge.h \
 shared/conf.h shared/diag.h shared/compiler.h shared/limits.h \
 shared/cli.h shared/banned.h
edge/edge.h:
shared/conf.h:
shared/diag.h:
shared/compiler.h:
shared/limits.h:
shared/cli.h:
shared/banned.h:
