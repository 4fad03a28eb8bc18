/* bits.bpf.h - integer log2 for histogram slots, without loops the verifier must unroll
 * (the libbpf-tools helpers, iovisor/bcc:libbpf-tools/bits.bpf.h). */
#ifndef ONGRID_BITS_BPF_H
#define ONGRID_BITS_BPF_H

static __always_inline __u64 log2_u32(__u32 v)
{
	__u32 shift, r;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u64 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32(v);
}

/* The histogram slot of v, clamped to the last slot. */
static __always_inline __u32 hist_slot(__u64 v)
{
	__u64 s = log2_u64(v);

	return s < HIST_SLOTS ? s : HIST_SLOTS - 1;
}

#endif
