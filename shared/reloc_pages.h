/* reloc_pages.h - give back the pages of the relocation tables once the dynamic linker has
 * applied them.
 *
 * Why: the dynamic linker reads every loaded object's .rela.dyn once, to relocate it at
 * load (or at dlopen), and never again; the pages stay mapped, so they count in the
 * process's RSS for its whole life. For the edge that is ~650 KiB, 424 KiB of it
 * libcrypto's. MADV_DONTNEED on those read-only, never-written file pages only drops them
 * from this process's page tables: were they read again, they would fault back in from
 * the file with the same bytes, so this can never change behaviour. The lazily bound
 * PLT relocations (.rela.plt) are left alone: the linker reads them at a function's
 * first call.
 */
#ifndef ONGRID_RELOC_PAGES_H
#define ONGRID_RELOC_PAGES_H

#include <stddef.h>

/* Drop the whole pages of each loaded object's relocation table (DT_RELA) from this
 * process's resident set; returns the bytes advised. Call after start-up and after a
 * dlopen(); calling again is harmless. */
size_t reloc_pages_release(void);

#endif
