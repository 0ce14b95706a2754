/* The monitor's own CPU environment, loaded by every VM exit from the
 * VMCS host-state area: GDT with a TSS, IDT, page tables, stacks. */
#include <vmx.h>
#include <cpu.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

struct host_state host_state;

#define GDT_CODE 0x08
#define GDT_DATA 0x10
#define GDT_TSS  0x18

/* 64-bit TSS (SDM 8.7 "Task Management in 64-bit Mode") */
struct __attribute__((packed)) tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
};
_Static_assert(sizeof(struct tss64) == 104, "SDM Figure 8-11");

struct __attribute__((packed)) idt_gate {
	u16 offset_lo, selector;
	u8 ist, type_attr;
	u16 offset_mid;
	u32 offset_hi, reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "SDM Figure 6-8");

static u64 gdt[5] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[32] __attribute__((aligned(16)));
static u8 ist_stack[4 * PAGE_SIZE] __attribute__((aligned(16)));
extern const u64 exc_stubs[32];

static void gdt_setup(void)
{
	u64 base = (u64)&tss, limit = sizeof(tss) - 1;

	gdt[GDT_CODE / 8] = 0x00af9b000000ffffULL; /* 64-bit code, DPL 0, accessed */
	gdt[GDT_DATA / 8] = 0x00cf93000000ffffULL; /* data, DPL 0, accessed */
	/* Available 64-bit TSS (type 9); VM exit loads TR and marks it busy. */
	gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
			   (0x89ULL << 40) | ((base >> 24 & 0xff) << 56);
	gdt[GDT_TSS / 8 + 1] = base >> 32;
	tss.ist[0] = (u64)ist_stack + sizeof(ist_stack);
	tss.iomap_base = sizeof(tss); /* no I/O permission bitmap */
}

static void idt_setup(void)
{
	for (int v = 0; v < 32; v++) {
		u64 h = exc_stubs[v];
		idt[v].offset_lo = h & 0xffff;
		idt[v].offset_mid = (h >> 16) & 0xffff;
		idt[v].offset_hi = h >> 32;
		idt[v].selector = GDT_CODE;
		idt[v].type_attr = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
		/* NMI, #DF and #MC run on their own stack (IST1). */
		idt[v].ist = (v == EXC_NMI || v == EXC_DF || v == EXC_MC) ? 1 : 0;
	}
}

/* Identity map of [0, limit) with 2 MiB pages: the monitor reaches its own
 * memory and, for hypercall buffers, the guest's. */
static int paging_setup(u64 limit)
{
	u64 *pml4 = pfa_alloc(), *pdpt = pfa_alloc();
	if (!pml4 || !pdpt)
		return NV_E_NOMEM;
	pml4[0] = (u64)pdpt | PTE_P | PTE_W;
	for (u64 g = 0; g < limit / PAGE_SIZE_1G; g++) {
		u64 *pd = pfa_alloc();
		if (!pd)
			return NV_E_NOMEM;
		pdpt[g] = (u64)pd | PTE_P | PTE_W;
		for (u64 i = 0; i < 512; i++)
			pd[i] = (g * PAGE_SIZE_1G + i * PAGE_SIZE_2M) | PTE_P | PTE_W | PTE_PS;
	}
	host_state.cr3 = (u64)pml4;
	return 0;
}

/* The highest guest-physical address worth mapping: the memory map's end,
 * at least 4 GiB (MMIO lives below), rounded to 1 GiB, at most 512 GiB. */
u64 phys_limit(const struct nv_bootinfo *bi)
{
	u64 top = 4 * PAGE_SIZE_1G;
	for (u32 i = 0; i < bi->mem_range_count; i++)
		if (bi->mem[i].base + bi->mem[i].size > top)
			top = bi->mem[i].base + bi->mem[i].size;
	top = ALIGN_UP(top, PAGE_SIZE_1G);
	return top > 512 * PAGE_SIZE_1G ? 512 * PAGE_SIZE_1G : top;
}

int host_setup(const struct nv_bootinfo *bi)
{
	gdt_setup();
	idt_setup();
	int err = paging_setup(phys_limit(bi));
	if (err)
		return err;
	host_state.gdt_base = (u64)gdt;
	host_state.idt_base = (u64)idt;
	host_state.tr_base = (u64)&tss;
	host_state.cs = GDT_CODE;
	host_state.ds = GDT_DATA;
	host_state.tr = GDT_TSS;
	return 0;
}

/* Host exceptions: a recoverable instruction (fixup_table), an NMI to pass
 * on to the guest, or a monitor bug reported in full. */
struct exc_frame {
	struct guest_regs r;
	u64 vector, error, rip, cs, rflags, rsp, ss;
};
extern const u64 fixup_table[], fixup_table_end[];

void host_exception(struct exc_frame *f)
{
	if (f->vector == EXC_NMI) {
		boot_vcpu.nmi_pending = true;
		return;
	}
	for (const u64 *e = fixup_table; e < fixup_table_end; e += 2) {
		if (f->rip == e[0]) {
			f->rip = e[1];
			return;
		}
	}
	log_printf(LOG_PREFIX "FATAL: monitor exception %lu, error %lx at rip %lx rsp %lx cr2 %lx\n",
		   f->vector, f->error, f->rip, f->rsp, ({ u64 c; asm volatile("mov %%cr2,%0" : "=r"(c)); c; }));
	for (int i = 0; i < 16; i += 4)
		log_printf(LOG_PREFIX "  r%-2d %016lx %016lx %016lx %016lx\n", i,
			   f->r.gpr[i], f->r.gpr[i + 1], f->r.gpr[i + 2], f->r.gpr[i + 3]);
	vmm_end_run(255);
}
