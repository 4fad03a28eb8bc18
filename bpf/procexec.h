/* procexec.h - what bpf/procexec.bpf.c shares with edge/collect/procexec.c. */
#ifndef ONGRID_PROCEXEC_H
#define ONGRID_PROCEXEC_H

/* (comm, event, status) triples counted; later ones share their event's "other" entry
 * (empty comm, status 0), which user space inserts before attaching. */
#define PROC_MAX_KEYS 1024
#define PROC_COMM_LEN 16

enum procexec_event { PROCEXEC_EXEC, PROCEXEC_EXIT };

struct proc_key {
	char comm[PROC_COMM_LEN];
	__u32 event;  /* enum procexec_event */
	__u32 status; /* PROCEXEC_EXIT: the wait(2) status: signal in bits 0-6, code in 8-15 */
};

#endif
