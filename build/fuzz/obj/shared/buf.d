build/fuzz/obj/shared/buf.o: shared/buf.c shared/alloc.h \
  shared/compiler.h shared/buf.h shared/banned.h

shared/alloc.h:

shared/compiler.h:

shared/buf.h:

shared/banned.h:
