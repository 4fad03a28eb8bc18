build/fuzz/obj/shared/alloc.o: shared/alloc.c shared/alloc.h \
  shared/compiler.h shared/banned.h

shared/alloc.h:

shared/compiler.h:

shared/banned.h:
