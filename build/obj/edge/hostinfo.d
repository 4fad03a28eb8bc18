build/obj/edge/hostinfo.o: edge/hostinfo.c edge/hostinfo.h shared/json.h \
 shared/diag.h shared/compiler.h shared/limits.h shared/str.h \
 shared/banned.h
edge/hostinfo.h:
shared/json.h:
shared/diag.h:
shared/compiler.h:
shared/limits.h:
shared/str.h:
shared/banned.h:
