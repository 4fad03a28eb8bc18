# edge/: the ongrid-edge daemon and CLI. Every .c under edge/ except main.c goes into
# libedge.a, which the unit tests link too.
EDGE_SRC := $(shell find edge -name '*.c' ! -path edge/main.c | sort)
EDGE_OBJ := $(EDGE_SRC:%.c=$(B)/obj/%.o)
EDGE_SAN := $(EDGE_SRC:%.c=$(S)/obj/%.o)

$(B)/libedge.a: $(EDGE_OBJ)
	$(E) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^
$(S)/libedge.a: $(EDGE_SAN)
	$(E) AR $@
	$(Q)mkdir -p $(@D) && rm -f $@ && ar rcs $@ $^

$(B)/ongrid-edge: $(B)/obj/edge/main.o $(B)/libedge.a $(B)/libshared.a
	$(E) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)
$(S)/ongrid-edge: $(S)/obj/edge/main.o $(S)/libedge.a $(S)/libshared.a
	$(E) LINK $@
	$(Q)$(CC) $(SAN_LDFLAGS) -o $@ $^ $(DEPLIBS)
