build/obj/shared/cli.o: shared/cli.c shared/cli.h shared/compiler.h \
 shared/banned.h
shared/cli.h:
shared/compiler.h:
shared/banned.h:
