/* lazylib.h - a shared library mapped only when the feature that needs it first runs.
 *
 * Why: a library linked the usual way is mapped at start, with everything it depends on,
 * in every process, and the dynamic linker reads its symbol tables and relocations and
 * runs its constructors, so those pages stay resident. For libcurl that is ~30 libraries
 * (GnuTLS, p11-kit, Kerberos, LDAP, libssh2, ...) and ~3.6 MiB of a running edge's RSS,
 * for the probe_http tool that most edges never run.
 *
 * Once loaded a library stays loaded for the life of the process: unloading is not safe
 * (libcurl's resolver thread can outlive a timed-out request, p11-kit refuses to unload).
 */
#ifndef ONGRID_LAZYLIB_H
#define ONGRID_LAZYLIB_H

#include <stddef.h>

#include "shared/diag.h"

/* One function to resolve: its name and where to store its address. */
struct lazylib_sym {
	const char *name;
	void **addr;
};

/* Map soname (e.g. "libcurl.so.4") and resolve every symbol in syms; 0, or -ENOENT with
 * a diag naming the library or the missing symbol (a missing package). Cheap when the
 * library is already mapped: the dynamic linker returns the same handle. */
int lazylib_load(const char *soname, const struct lazylib_sym *syms, size_t n, struct diag *d);

#endif
