/* runqlat.h - what bpf/runqlat.bpf.c shares with edge/collect/runqlat.c. */
#ifndef ONGRID_RUNQLAT_H
#define ONGRID_RUNQLAT_H

#include "hist.h"

/* Distinct cgroups with their own histogram; later ones share the "other" entry (id 0),
 * which user space inserts before attaching. */
#define RUNQLAT_MAX_CGROUPS 128

#endif
