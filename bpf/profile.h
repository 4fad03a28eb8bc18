/* profile.h - what bpf/profile.bpf.c shares with edge/tools/profile.c. */
#ifndef ONGRID_PROFILE_H
#define ONGRID_PROFILE_H

/* Distinct stacks kept (kernel and user share the map), frames per stack, and distinct
 * (pid, kernel stack, user stack) keys counted. Past these, samples are counted as lost. */
#define PROFILE_MAX_STACKS 16384
#define PROFILE_MAX_DEPTH  64
#define PROFILE_MAX_KEYS   16384

struct profile_key {
	__u32 pid;    /* tgid; 0 for the idle task */
	__s32 kstack; /* stack id in the stacks map, or a negative errno */
	__s32 ustack;
	char comm[16];
};

#endif
