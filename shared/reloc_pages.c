/* reloc_pages.c - see reloc_pages.h. */
#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shared/reloc_pages.h"
#include "shared/banned.h"

/* Is [a, b) inside one read-only PT_LOAD segment of the object? The table must lie in
 * pages nothing writes (never in RELRO, whose relocated contents live only in memory). */
static int in_readonly_segment(const struct dl_phdr_info *info, uintptr_t a, uintptr_t b)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;

		if (ph->p_type == PT_LOAD && !(ph->p_flags & PF_W) && a >= lo && b <= hi)
			return 1;
	}
	return 0;
}

static int release_one(struct dl_phdr_info *info, size_t size, void *data)
{
	size_t *released = data;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), rela = 0, relasz = 0;
	const ElfW(Dyn) *dyn = NULL;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	if (!dyn || info->dlpi_addr == 0)
		return 0; /* nothing relocated, or not position-independent */
	for (; dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_RELA)
			rela = dyn->d_un.d_ptr;
		else if (dyn->d_tag == DT_RELASZ)
			relasz = dyn->d_un.d_val;
	}
	if (!rela || !relasz)
		return 0;
	/* glibc rewrites DT_RELA to an address in writable dynamic sections and leaves it an
	 * offset in read-only ones (the vDSO); the segment check below catches a wrong guess. */
	if (rela < info->dlpi_addr)
		rela += info->dlpi_addr;
	if (!in_readonly_segment(info, rela, rela + relasz))
		return 0;
	/* Whole pages only: the first and last may share bytes with live sections. */
	uintptr_t a = (rela + page - 1) & ~(page - 1), b = (rela + relasz) & ~(page - 1);
	if (b > a && madvise((void *)a, b - a, MADV_DONTNEED) == 0)
		*released += b - a;
	return 0;
}

size_t reloc_pages_release(void)
{
	size_t released = 0;

	dl_iterate_phdr(release_one, &released);
	return released;
}
