/* biolatency.h - what bpf/biolatency.bpf.c shares with edge/collect/biolatency.c. */
#ifndef ONGRID_BIOLATENCY_H
#define ONGRID_BIOLATENCY_H

#include "hist.h"

/* (disk, operation) pairs with their own histograms; later ones share "other" (dev 0). */
#define BIO_MAX_KEYS     256
/* Requests in flight whose issue time is remembered; more than any queue depth. */
#define BIO_MAX_INFLIGHT 16384

enum bio_op { BIO_OP_READ, BIO_OP_WRITE, BIO_OP_FLUSH, BIO_OP_DISCARD, BIO_OP_OTHER, _BIO_OP_MAX };

struct bio_key {
	__u32 dev; /* the disk's dev_t in the kernel's encoding: major << 20 | minor */
	__u32 op;  /* enum bio_op */
};

struct bio_val {
	struct hist latency; /* issue to completion, microseconds (sum: nanoseconds) */
	struct hist size;    /* request size, bytes */
};

#endif
