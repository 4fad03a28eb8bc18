# shared/: C code both daemons link (protocol, config, JSON, logging, buffers, ...).
SHARED_SRC := $(wildcard shared/*.c)
SHARED_OBJ := $(SHARED_SRC:%.c=$(B)/obj/%.o)
SHARED_SAN := $(SHARED_SRC:%.c=$(S)/obj/%.o)

$(B)/libshared.a: $(SHARED_OBJ)
	$(E) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^
$(S)/libshared.a: $(SHARED_SAN)
	$(E) AR $@
	$(Q)mkdir -p $(@D) && rm -f $@ && ar rcs $@ $^
