# relay/: the ongrid-relay daemon and CLI. Every .c under relay/ except main.c goes into
# librelay.a, which the unit tests link too.
RELAY_SRC := $(shell find relay -name '*.c' ! -path relay/main.c | sort)
RELAY_OBJ := $(RELAY_SRC:%.c=$(B)/obj/%.o)
RELAY_SAN := $(RELAY_SRC:%.c=$(S)/obj/%.o)

$(B)/librelay.a: $(RELAY_OBJ)
	$(E) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^
$(S)/librelay.a: $(RELAY_SAN)
	$(E) AR $@
	$(Q)mkdir -p $(@D) && rm -f $@ && ar rcs $@ $^

$(B)/ongrid-relay: $(B)/obj/relay/main.o $(B)/librelay.a $(B)/libshared.a
	$(E) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)
$(S)/ongrid-relay: $(S)/obj/relay/main.o $(S)/librelay.a $(S)/libshared.a
	$(E) LINK $@
	$(Q)$(CC) $(SAN_LDFLAGS) -o $@ $^ $(DEPLIBS)
