build/san/tests/test_buf: tests/unit/test_buf.c shared/buf.h \
 shared/compiler.h
shared/buf.h:
shared/compiler.h:
