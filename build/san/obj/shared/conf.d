build/san/obj/shared/conf.o: shared/conf.c shared/alloc.h \
 shared/compiler.h shared/conf.h shared/diag.h shared/limits.h \
 shared/json.h shared/str.h shared/banned.h
shared/alloc.h:
shared/compiler.h:
shared/conf.h:
shared/diag.h:
shared/limits.h:
shared/json.h:
shared/str.h:
shared/banned.h:
