/* maps.bpf.h - map helpers shared by the collectors' kernel programs. */
#ifndef ONGRID_MAPS_BPF_H
#define ONGRID_MAPS_BPF_H

#include <bpf/bpf_helpers.h>
#include <asm-generic/errno.h>

/* Look key up in a hash map; insert init when it is missing. Returns NULL when the map is
 * full, so the caller can account the event to its "other" entry instead of losing it. */
static __always_inline void *map_lookup_or_init(void *map, const void *key, const void *init)
{
	void *val;
	long err;

	val = bpf_map_lookup_elem(map, key);
	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -EEXIST)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}

#endif
