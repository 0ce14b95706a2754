/* ELF64 loader for the monitor image. The monitor is linked as a PIE at
 * address 0, so loading it means: copy each PT_LOAD segment to base + p_vaddr,
 * zero the bytes the file does not cover (.bss), then add the base to every
 * pointer the linker recorded in the R_X86_64_RELATIVE relocations.
 * Layout: System V ABI, "ELF-64 Object File Format" and the x86-64 psABI. */
#include "elf.h"

#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_DYN 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_INTERP 3
#define DT_NULL 0
#define DT_RELA 7
#define DT_RELASZ 8
#define DT_RELAENT 9
#define DT_REL 17
#define DT_JMPREL 23
#define DT_RELR 36
#define R_X86_64_NONE 0
#define R_X86_64_RELATIVE 8
#define MAX_IMAGE (1ULL << 30)

struct elf64_ehdr {
	u8 e_ident[EI_NIDENT];
	u16 e_type, e_machine;
	u32 e_version;
	u64 e_entry, e_phoff, e_shoff;
	u32 e_flags;
	u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf64_phdr {
	u32 p_type, p_flags;
	u64 p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

struct elf64_dyn {
	s64 d_tag;
	u64 d_val;
};

struct elf64_rela {
	u64 r_offset, r_info;
	s64 r_addend;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header");
_Static_assert(sizeof(struct elf64_rela) == 24, "ELF64 Rela");

/* err = msg, or msg followed by " 0x<num>" */
static int fail(char *err, const char *msg, bool with_num, u64 num)
{
	size_t n = 0;

	while (*msg && n + 1 < ELF_ERROR_MAX)
		err[n++] = *msg++;
	if (with_num && n + 20 < ELF_ERROR_MAX) {
		int shift = 60;

		err[n++] = ' ';
		err[n++] = '0';
		err[n++] = 'x';
		while (shift > 0 && !((num >> shift) & 0xf))
			shift -= 4;
		for (; shift >= 0; shift -= 4)
			err[n++] = "0123456789abcdef"[(num >> shift) & 0xf];
	}
	err[n] = '\0';
	return -1;
}

/* Does [off, off+len) lie inside [0, size)? Overflow-safe. */
static bool in_range(u64 off, u64 len, u64 size)
{
	return off <= size && len <= size - off;
}

static const struct elf64_phdr *phdr(const void *file, unsigned int i)
{
	const struct elf64_ehdr *eh = file;

	return (const struct elf64_phdr *)((const u8 *)file + eh->e_phoff +
					   (u64)i * eh->e_phentsize);
}

int elf_inspect(const void *file, size_t file_size, struct elf_image *img, char *err)
{
	const struct elf64_ehdr *eh = file;
	u64 end = 0;
	bool entry_ok = false;
	unsigned int loads = 0;

	if (file_size < sizeof(*eh) || eh->e_ident[0] != 0x7f || eh->e_ident[1] != 'E' ||
	    eh->e_ident[2] != 'L' || eh->e_ident[3] != 'F')
		return fail(err, "not an ELF file (bad magic)", false, 0);
	if (eh->e_ident[4] != ELFCLASS64 || eh->e_ident[5] != ELFDATA2LSB)
		return fail(err, "not a little-endian ELF64 file", false, 0);
	if (eh->e_ident[6] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return fail(err, "unknown ELF version", true, eh->e_version);
	if (eh->e_machine != EM_X86_64)
		return fail(err, "not an x86-64 ELF file: e_machine", true, eh->e_machine);
	if (eh->e_type != ET_DYN)
		return fail(err, "not a position-independent executable (need ET_DYN): e_type",
			    true, eh->e_type);
	if (eh->e_phentsize != sizeof(struct elf64_phdr) || eh->e_phnum == 0 ||
	    !in_range(eh->e_phoff, (u64)eh->e_phnum * eh->e_phentsize, file_size) ||
	    eh->e_phoff % 8)
		return fail(err, "bad program header table", false, 0);

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *ph = phdr(file, i);

		if (ph->p_type == PT_INTERP)
			return fail(err, "has an interpreter (PT_INTERP): link with --no-dynamic-linker",
				    false, 0);
		if (ph->p_type != PT_LOAD)
			continue;
		loads++;
		if (ph->p_filesz > ph->p_memsz || !in_range(ph->p_offset, ph->p_filesz, file_size))
			return fail(err, "PT_LOAD segment outside the file: index", true, i);
		if (!in_range(ph->p_vaddr, ph->p_memsz, MAX_IMAGE))
			return fail(err, "PT_LOAD segment beyond 1 GiB: p_vaddr", true, ph->p_vaddr);
		if (ph->p_vaddr + ph->p_memsz > end)
			end = ph->p_vaddr + ph->p_memsz;
		if (eh->e_entry >= ph->p_vaddr && eh->e_entry < ph->p_vaddr + ph->p_memsz)
			entry_ok = true;
	}
	if (!loads)
		return fail(err, "no PT_LOAD segment", false, 0);
	if (!entry_ok)
		return fail(err, "entry point outside every PT_LOAD segment: e_entry", true,
			    eh->e_entry);
	img->mem_size = ALIGN_UP(end, PAGE_SIZE);
	img->entry = eh->e_entry;
	return 0;
}

/* For the error message: the types a wrongly linked image would carry. */
static const char *reloc_name(u32 type)
{
	switch (type) {
	case 1:
		return "relocation R_X86_64_64 (only R_X86_64_RELATIVE is allowed): type";
	case 6:
		return "relocation R_X86_64_GLOB_DAT (only R_X86_64_RELATIVE is allowed): type";
	case 7:
		return "relocation R_X86_64_JUMP_SLOT (only R_X86_64_RELATIVE is allowed): type";
	case 37:
		return "relocation R_X86_64_IRELATIVE (only R_X86_64_RELATIVE is allowed): type";
	default:
		return "unsupported relocation (only R_X86_64_RELATIVE is allowed): type";
	}
}

/* Applies DT_RELA from the loaded image; only R_X86_64_RELATIVE is valid in
 * a statically linked PIE (there are no symbols to resolve). */
static int relocate(u8 *dest, u64 mem_size, const struct elf64_dyn *dyn, u64 ndyn, char *err)
{
	u64 rela = 0, relasz = 0, relaent = sizeof(struct elf64_rela);
	bool have_rela = false;

	for (u64 i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
		switch (dyn[i].d_tag) {
		case DT_RELA:
			rela = dyn[i].d_val;
			have_rela = true;
			break;
		case DT_RELASZ:
			relasz = dyn[i].d_val;
			break;
		case DT_RELAENT:
			relaent = dyn[i].d_val;
			break;
		case DT_REL:
			return fail(err, "DT_REL relocations are not supported (need DT_RELA)", false, 0);
		case DT_RELR:
			return fail(err, "DT_RELR relocations are not supported (link without -z pack-relative-relocs)",
				    false, 0);
		case DT_JMPREL:
			return fail(err, "PLT relocations (DT_JMPREL) are not supported", false, 0);
		}
	}
	if (!have_rela || !relasz)
		return 0;
	if (relaent != sizeof(struct elf64_rela) || relasz % relaent || rela % 8 ||
	    !in_range(rela, relasz, mem_size))
		return fail(err, "bad DT_RELA table at", true, rela);

	for (u64 off = 0; off < relasz; off += relaent) {
		const struct elf64_rela *r = (const struct elf64_rela *)(dest + rela + off);
		u32 type = (u32)r->r_info;

		if (type == R_X86_64_NONE)
			continue;
		if (type != R_X86_64_RELATIVE)
			return fail(err, reloc_name(type), true, type);
		if (!in_range(r->r_offset, sizeof(u64), mem_size))
			return fail(err, "relocation outside the image: r_offset", true, r->r_offset);
		/* B + A (psABI table "Relocation Types") */
		*(u64 *)(dest + r->r_offset) = (u64)(uintptr_t)dest + (u64)r->r_addend;
	}
	return 0;
}

int elf_load(const void *file, size_t file_size, void *dest, char *err)
{
	const struct elf64_ehdr *eh = file;
	struct elf_image img;
	u8 *d = dest;

	if (elf_inspect(file, file_size, &img, err))
		return -1;
	for (u64 i = 0; i < img.mem_size; i++)
		d[i] = 0;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *ph = phdr(file, i);
		const u8 *src = (const u8 *)file + ph->p_offset;

		if (ph->p_type != PT_LOAD)
			continue;
		for (u64 b = 0; b < ph->p_filesz; b++)
			d[ph->p_vaddr + b] = src[b];
	}
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *ph = phdr(file, i);

		if (ph->p_type != PT_DYNAMIC)
			continue;
		if (!in_range(ph->p_vaddr, ph->p_memsz, img.mem_size) || ph->p_vaddr % 8)
			return fail(err, "PT_DYNAMIC outside the loaded image: p_vaddr", true,
				    ph->p_vaddr);
		return relocate(d, img.mem_size, (const struct elf64_dyn *)(d + ph->p_vaddr),
				ph->p_memsz / sizeof(struct elf64_dyn), err);
	}
	return 0;
}
