build/fuzz/obj/shared/clock.o: shared/clock.c shared/clock.h shared/str.h \
  shared/banned.h

shared/clock.h:

shared/str.h:

shared/banned.h:
