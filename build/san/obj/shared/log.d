build/san/obj/shared/log.o: shared/log.c shared/log.h shared/compiler.h \
 shared/banned.h
shared/log.h:
shared/compiler.h:
shared/banned.h:
