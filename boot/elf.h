/* Loading the monitor: an ELF64 position-independent executable (ET_DYN)
 * copied to a chosen base and relocated. Free of UEFI types. */
#ifndef NESTVISOR_ELF_H
#define NESTVISOR_ELF_H

#include <nestvisor/types.h>

#define ELF_ERROR_MAX 128

struct elf_image {
	u64 mem_size; /* bytes from the base to the end of the last segment */
	u64 entry;    /* offset of the entry point from the base */
};

/* Checks the file and computes the span of its PT_LOAD segments. */
int elf_inspect(const void *file, size_t file_size, struct elf_image *img, char *err);

/* Copies the segments to 'dest' (the base, mem_size bytes, which the caller
 * owns and which is also the run-time address), zeroes the rest and applies
 * the R_X86_64_RELATIVE relocations. Returns 0, or -1 with 'err' set. */
int elf_load(const void *file, size_t file_size, void *dest, char *err);

#endif
