build/san/tests/test_str: tests/unit/test_str.c shared/clock.h \
 shared/str.h
shared/clock.h:
shared/str.h:
