/* lazylib.c - see lazylib.h. */
#include <dlfcn.h>
#include <errno.h>

#include "shared/lazylib.h"
#include "shared/reloc_pages.h"
#include "shared/banned.h"

int lazylib_load(const char *soname, const struct lazylib_sym *syms, size_t n, struct diag *d)
{
	/* RTLD_LOCAL: its symbols serve only the caller's table, never interpose on
	 * anything already loaded. RTLD_NOW: a missing symbol fails here, not mid-call. */
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return diag_set(d, -ENOENT, "cannot load %s: %s", soname, dlerror());
	for (size_t i = 0; i < n; i++) {
		void *fn = dlsym(h, syms[i].name);

		if (!fn)
			return diag_set(d, -ENOENT, "%s has no %s: %s", soname, syms[i].name,
			                dlerror());
		*syms[i].addr = fn;
	}
	reloc_pages_release(); /* what this dlopen() relocated */
	return 0;              /* h stays open for the life of the process, see lazylib.h */
}
