build/obj/edge/cmd_status.o: edge/cmd_status.c edge/edge.h shared/conf.h \
 shared/diag.h shared/compiler.h shared/limits.h edge/hostinfo.h \
 shared/cli.h shared/json.h shared/banned.h
edge/edge.h:
shared/conf.h:
shared/diag.h:
shared/compiler.h:
shared/limits.h:
edge/hostinfo.h:
shared/cli.h:
shared/json.h:
shared/banned.h:
