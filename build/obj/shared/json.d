build/obj/shared/json.o: shared/json.c shared/alloc.h shared/compiler.h \
 shared/json.h shared/diag.h shared/limits.h shared/banned.h
shared/alloc.h:
shared/compiler.h:
shared/json.h:
shared/diag.h:
shared/limits.h:
shared/banned.h:
