build/san/obj/shared/cli.o: shared/cli.c shared/cli.h shared/banned.h
shared/cli.h:
shared/banned.h:
