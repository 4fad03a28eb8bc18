build/fuzz/obj/shared/str.o: shared/str.c shared/str.h shared/banned.h

shared/str.h:

shared/banned.h:
