build/obj/shared/db.o: shared/db.c shared/db.h shared/diag.h \
 shared/compiler.h shared/limits.h shared/banned.h
shared/db.h:
shared/diag.h:
shared/compiler.h:
shared/limits.h:
shared/banned.h:
