build/san/obj/shared/diag.o: shared/diag.c shared/diag.h \
 shared/compiler.h shared/limits.h shared/banned.h
shared/diag.h:
shared/compiler.h:
shared/limits.h:
shared/banned.h:
