build/san/obj/shared/fsutil.o: shared/fsutil.c shared/alloc.h \
 shared/compiler.h shared/fsutil.h shared/str.h shared/banned.h
shared/alloc.h:
shared/compiler.h:
shared/fsutil.h:
shared/str.h:
shared/banned.h:
