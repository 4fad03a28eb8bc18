# bpf/: kernel side of each collector. NAME.bpf.c -> NAME.bpf.o -> NAME.skel.h, which the
# user-space reader in edge/collect/ includes, so the bytecode is embedded in ongrid-edge.
#
# vmlinux.h comes from the running kernel's BTF (/sys/kernel/btf/vmlinux) at build time;
# CO-RE relocations make the objects portable to other kernels with BTF. A committed
# bpf/vmlinux.h is used instead when present (build hosts without BTF).
BPF_SRC   := $(wildcard bpf/*.bpf.c)
ifeq ($(BPF),1)
BPF_SKELS := $(BPF_SRC:bpf/%.bpf.c=$(B)/bpf/%.skel.h)
else
BPF_SKELS :=
endif
BPF_ARCH  := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/')
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(B)/bpf -Ibpf

ifneq ($(wildcard bpf/vmlinux.h),)
$(B)/bpf/vmlinux.h: bpf/vmlinux.h | $(DEPS_STAMP)
	$(Q)mkdir -p $(@D) && cp $< $@
else
$(B)/bpf/vmlinux.h: | $(DEPS_STAMP)
	$(E) GEN $@
	$(Q)mkdir -p $(@D)
	$(Q)test -r /sys/kernel/btf/vmlinux || { echo "bpf: /sys/kernel/btf/vmlinux is missing;" \
		"build with BPF=0 or commit a bpf/vmlinux.h" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@
endif

$(B)/bpf/%.bpf.o: bpf/%.bpf.c $(B)/bpf/vmlinux.h $(wildcard bpf/*.h)
	$(E) BPF $<
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)llvm-strip -g $@.tmp -o $@ && rm -f $@.tmp

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	$(E) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

.PRECIOUS: $(B)/bpf/%.bpf.o $(B)/bpf/%.skel.h
