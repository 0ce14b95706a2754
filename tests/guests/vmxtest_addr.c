/* vmxtest: the addresses L1 hands over in the VMCS. VM entry checks an
 * address only for alignment and the physical-address width (SDM 27.2.1.1
 * "VM-Execution Control Fields", 27.2.1.2 "VM-Exit Control Fields",
 * 27.2.1.3 "VM-Entry Control Fields"); what lies there is the processor's
 * business when it reads it. Where no memory is, reads give all ones and
 * writes vanish, so I/O bitmaps there make every I/O instruction exit, an
 * MSR bitmap every RDMSR and WRMSR (SDM 26.1.3), a virtual-APIC page there
 * holds VTPR FFH (SDM 30.1.1), and a VM-entry MSR-load list there fails
 * the entry at its first entry (SDM 27.4 "Loading MSRs", 27.8). The absent
 * region is 16 GiB, far above the RAM Bochs gives the guest, below the
 * firmware's 64-bit PCI window and below 1 << MAXPHYADDR; the first check
 * makes sure it reads as all ones. VM-exit MSR-store and MSR-load lists
 * there would end the next VM exit in a VMX abort (SDM 28.4, 28.6: an
 * entry of all ones has reserved bits set), so those lists are only put
 * through the entry checks. The bitmaps as L2 changes them:
 * vmxtest_bitmaps.c. */
#include <efi.h>
#include <efilib.h>
#include "vmxtest_addr.h"

#define ABSENT 0x400000000ULL   /* 16 GiB: no RAM, no device */
enum absent_page { AB_IO_A, AB_IO_B, AB_MSR_BITMAP, AB_VAPIC, AB_EXIT_STORE, AB_EXIT_LOAD,
		   AB_ENTRY_LOAD, AB_PAGES };

#define PTE_PWT BIT(3)
#define PTE_PCD BIT(4)

/* VM-exit instruction information for INS/OUTS (SDM 28.2.5), defined
 * where IA32_VMX_BASIC[54] is 1: address size 9:7, segment 17:15 (OUTS). */
#define BASIC_INS_OUTS_INFO BIT(54)
#define INFO_ADDR_SIZE_SHIFT 7
#define INFO_ADDR_SIZE_64 2u
#define INFO_SEG_SHIFT 15
#define INFO_SEG_DS 3u
#define INFO_FIELD_MASK 7u
#define STR_COUNT 3

#define VTPR_SHIFT 4
#define CR8_VALUE 3
#define TPR_THRESHOLD_MAX 15
#define MSR_ENTRY_SIZE 16

/* L2's code, 64-bit, sharing L1's address space. Every exception exits
 * (the exception bitmap is all ones), so an instruction that should have
 * exited and faulted instead ends L2's run too. */
asm(".pushsection .text\n"
    /* DX: the port. Each instruction exits when its ports' bits are set. */
    ".globl addr_l2_io, addr_l2_io_outb, addr_l2_io_inb, addr_l2_io_outw, addr_l2_io_inl,"
    " addr_l2_io_outi, addr_l2_io_ini, addr_l2_io_end\n"
    ".hidden addr_l2_io, addr_l2_io_outb, addr_l2_io_inb, addr_l2_io_outw, addr_l2_io_inl,"
    " addr_l2_io_outi, addr_l2_io_ini, addr_l2_io_end\n"
    "addr_l2_io:\n"
    "addr_l2_io_outb:\n\toutb %al, %dx\n"
    "addr_l2_io_inb:\n\tinb %dx, %al\n"
    "addr_l2_io_outw:\n\toutw %ax, %dx\n"
    "addr_l2_io_inl:\n\tinl %dx, %eax\n"
    "addr_l2_io_outi:\n\toutb %al, $0x80\n"
    "addr_l2_io_ini:\n\tinl $0x80, %eax\n"
    "addr_l2_io_end:\n\tvmcall\n\tjmp addr_l2_io_end\n"
    /* ECX: the MSR, EDX:EAX what WRMSR writes. */
    ".globl addr_l2_msr, addr_l2_msr_rd, addr_l2_msr_wr, addr_l2_msr_end\n"
    ".hidden addr_l2_msr, addr_l2_msr_rd, addr_l2_msr_wr, addr_l2_msr_end\n"
    "addr_l2_msr:\n"
    "addr_l2_msr_rd:\n\trdmsr\n"
    "addr_l2_msr_wr:\n\twrmsr\n"
    "addr_l2_msr_end:\n\tvmcall\n\tjmp addr_l2_msr_end\n"
    /* String I/O at DX: RCX iterations from [RSI], then to [RDI]. */
    ".globl addr_l2_str, addr_l2_str_outs, addr_l2_str_ins, addr_l2_str_end\n"
    ".hidden addr_l2_str, addr_l2_str_outs, addr_l2_str_ins, addr_l2_str_end\n"
    "addr_l2_str:\n"
    "addr_l2_str_outs:\n\trep outsb\n"
    "addr_l2_str_ins:\n\trep insb\n"
    "addr_l2_str_end:\n\tvmcall\n\tjmp addr_l2_str_end\n"
    /* MOV from CR8 with the TPR shadow: VTPR[7:4]; then MOV to CR8 of
     * RBX and from CR8 again into RCX. */
    ".globl addr_l2_cr8, addr_l2_cr8_end, addr_l2_cr8_write, addr_l2_cr8_write_end\n"
    ".hidden addr_l2_cr8, addr_l2_cr8_end, addr_l2_cr8_write, addr_l2_cr8_write_end\n"
    "addr_l2_cr8:\n\tmovq %cr8, %rax\n"
    "addr_l2_cr8_end:\n\tvmcall\n"
    "addr_l2_cr8_write:\n\tmovq %rbx, %cr8\n\tmovq %cr8, %rcx\n"
    "addr_l2_cr8_write_end:\n\tvmcall\n\tjmp addr_l2_cr8_write_end\n"
    ".popsection\n");
extern const u8 addr_l2_io[], addr_l2_io_outb[], addr_l2_io_inb[], addr_l2_io_outw[],
	addr_l2_io_inl[], addr_l2_io_outi[], addr_l2_io_ini[], addr_l2_io_end[],
	addr_l2_msr[], addr_l2_msr_rd[], addr_l2_msr_wr[], addr_l2_msr_end[],
	addr_l2_str[], addr_l2_str_outs[], addr_l2_str_ins[], addr_l2_str_end[],
	addr_l2_cr8[], addr_l2_cr8_end[], addr_l2_cr8_write[], addr_l2_cr8_write_end[];

struct tg_regs addr_regs;

static u64 absent(enum absent_page p)
{
	return ABSENT + (u64)p * PAGE_SIZE;
}

bool addr_run_steps(struct tg_check *c, bool resume, const struct step *s, u32 n)
{
	for (u32 i = 0; i < n; i++, s++) {
		if (!vt_expect_exit(c, vt_enter(&addr_regs, resume || i > 0), s->reason, (u64)s->at) ||
		    !vt_expect_eq(c, "instruction length", vt_rd(VM_EXIT_INSTRUCTION_LEN), s->len) ||
		    (s->reason == EXIT_REASON_IO_INSTRUCTION &&
		     !vt_expect_eq(c, "exit qualification", vt_rd(EXIT_QUALIFICATION), s->qual)))
			return false;
		vt_wr(GUEST_RIP, (u64)s->at + s->len);
	}
	return true;
}

/* A fresh VMCS A for an L2 at 'rip' with 'proc' controls, every
 * exception exiting. */
bool addr_setup(struct vt_env *env, struct tg_check *c, const u8 *rip, u32 proc)
{
	struct vt_l2 l2 = {
		.rip = (u64)rip,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = proc,
		.exc_bitmap = ~0u,
	};

	SetMem(&addr_regs, sizeof(addr_regs), 0);
	return vt_load_fresh(env, VT_PG_VMCS_A, &l2, c);
}

bool addr_wr(struct tg_check *c, u32 field, u64 val)
{
	return vt_expect_res(c, "VMWRITE", vt_vmwrite(field, val), VT_OK);
}

/* ---- What the SDM checks, and only that ---- */

/* VMLAUNCH of a CPUID L2 after 'field' = 'val' (and 'field2' = 'val2'
 * when field2 is not 0) gives 'want'. */
static void launch_with(struct vt_env *env, const char *name, u32 proc, u32 field, u64 val,
			u32 field2, u64 val2, u32 want)
{
	struct tg_check c;

	tg_begin(&c, name);
	if (addr_setup(env, &c, vt_l2_cpuid_loop, proc) && addr_wr(&c, field, val) &&
	    (!field2 || addr_wr(&c, field2, val2))) {
		vt_expect_res(&c, "VMLAUNCH", vt_enter(&addr_regs, 0), want);
	}
	tg_end(&c);
}

static void address_checks(struct vt_env *env)
{
	u64 beyond = 1ULL << env->caps.maxphyaddr;
	u32 err7 = VT_FAIL_VALID(VMXERR_ENTRY_INVALID_CONTROL);
	struct tg_check c;

	/* SDM 27.2.1.1: bitmap addresses 4-KByte aligned, within the width. */
	launch_with(env, "addr-io-bitmap-b-beyond-width", CPU_BASED_USE_IO_BITMAPS,
		    IO_BITMAP_B, beyond, 0, 0, err7);
	launch_with(env, "addr-msr-bitmap-unaligned", CPU_BASED_USE_MSR_BITMAPS,
		    MSR_BITMAP, absent(AB_MSR_BITMAP) + 0x800, 0, 0, err7);
	/* SDM 27.2.1.2/27.2.1.3: MSR lists 16-byte aligned, first and last
	 * byte within the width, checked only when the count is not 0. */
	launch_with(env, "addr-exit-msr-store-unaligned", 0, VM_EXIT_MSR_STORE_ADDR,
		    absent(AB_EXIT_STORE) + 8, VM_EXIT_MSR_STORE_COUNT, 1, err7);
	launch_with(env, "addr-exit-msr-load-end-beyond-width", 0, VM_EXIT_MSR_LOAD_ADDR,
		    beyond - MSR_ENTRY_SIZE, VM_EXIT_MSR_LOAD_COUNT, 2, err7);
	launch_with(env, "addr-entry-msr-load-beyond-width", 0, VM_ENTRY_MSR_LOAD_ADDR,
		    beyond, VM_ENTRY_MSR_LOAD_COUNT, 1, err7);

	tg_begin(&c, "addr-msr-lists-count-zero-unchecked");
	if (addr_setup(env, &c, vt_l2_cpuid_loop, 0) &&
	    addr_wr(&c, VM_EXIT_MSR_STORE_ADDR, beyond | 8) && addr_wr(&c, VM_EXIT_MSR_LOAD_ADDR, beyond | 8) &&
	    addr_wr(&c, VM_ENTRY_MSR_LOAD_ADDR, beyond | 8))
		vt_expect_exit(&c, vt_enter(&addr_regs, 0), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at);
	tg_end(&c);

	/* Lists outside RAM pass 27.2.1.2; the host state (27.2.2) fails:
	 * the SDM then allows only VMfailValid(8). */
	tg_begin(&c, "addr-exit-msr-lists-absent-pass-checks");
	if (addr_setup(env, &c, vt_l2_cpuid_loop, 0) &&
	    addr_wr(&c, VM_EXIT_MSR_STORE_ADDR, absent(AB_EXIT_STORE)) &&
	    addr_wr(&c, VM_EXIT_MSR_STORE_COUNT, 1) &&
	    addr_wr(&c, VM_EXIT_MSR_LOAD_ADDR, absent(AB_EXIT_LOAD)) &&
	    addr_wr(&c, VM_EXIT_MSR_LOAD_COUNT, 1) && addr_wr(&c, HOST_CR0, read_cr0() & ~CR0_PE))
		vt_expect_res(&c, "VMLAUNCH", vt_enter(&addr_regs, 0),
			      VT_FAIL_VALID(VMXERR_ENTRY_INVALID_HOST_STATE));
	tg_end(&c);
}

/* ---- Memory that is not there ---- */

/* L1's paging with the absent region's 1 GiB mapped uncached: the
 * firmware's PML4 and first PDPT copied, one PD of 2-MiB pages. */
static u64 absent_cr3(struct vt_env *env)
{
	u64 *pml4 = (u64 *)vt_page(env, PG_PML4), *pdpt = (u64 *)vt_page(env, PG_PDPT);
	u64 *pd = (u64 *)vt_page(env, PG_PD), gib = ABSENT & ~(PAGE_SIZE_1G - 1);
	const u64 *fw_pml4 = (const u64 *)(read_cr3() & PTE_ADDR_MASK);

	_Static_assert(ABSENT >> 39 == 0, "the absent region is under PML4 entry 0");
	CopyMem(pml4, (void *)fw_pml4, PAGE_SIZE);
	if (fw_pml4[0] & PTE_P)
		CopyMem(pdpt, (void *)(fw_pml4[0] & PTE_ADDR_MASK), PAGE_SIZE);
	else
		SetMem(pdpt, PAGE_SIZE, 0);
	for (u64 j = 0; j < 512; j++)
		pd[j] = (gib + (j << 21)) | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
	pdpt[gib >> 30] = vt_pa(env, PG_PD) | PTE_P | PTE_W;
	pml4[0] = vt_pa(env, PG_PDPT) | PTE_P | PTE_W;
	return vt_pa(env, PG_PML4);
}

/* The premise: what L1 reads there is all ones, a write changes nothing
 * (the first and last qword of each page, then after writing 0). */
static bool absent_reads_ones(struct vt_env *env)
{
	u64 cr3 = read_cr3(), got[AB_PAGES][2], after;
	struct tg_check c;

	tg_begin(&c, "addr-absent-reads-ones");
	if (!tg_expect(&c, absent(AB_PAGES) <= 1ULL << env->caps.maxphyaddr,
		       "MAXPHYADDR %u: %lx is beyond it", env->caps.maxphyaddr, ABSENT)) {
		tg_end(&c);
		return false;
	}
	write_cr3(absent_cr3(env));
	for (int p = 0; p < AB_PAGES; p++) {
		got[p][0] = *(volatile u64 *)absent(p);
		got[p][1] = *(volatile u64 *)(absent(p) + PAGE_SIZE - 8);
	}
	*(volatile u64 *)absent(AB_IO_A) = 0;
	after = *(volatile u64 *)absent(AB_IO_A);
	write_cr3(cr3);
	for (int p = 0; p < AB_PAGES; p++)
		tg_expect(&c, got[p][0] == ~0ULL && got[p][1] == ~0ULL, "page %lx: expected all "
			  "ones, got %lx ... %lx", absent(p), got[p][0], got[p][1]);
	vt_expect_eq(&c, "after writing 0", after, ~0ULL);
	tg_end(&c);
	return !c.failed;
}

/* Every I/O instruction exits with I/O bitmaps outside RAM: L2 at
 * 'port' through DX, then port 80H as an immediate. */
static void absent_io(const char *name, u16 port, bool launch)
{
	const struct step s[] = {
		{ addr_l2_io_outb, EXIT_REASON_IO_INSTRUCTION, 1, IO_QUAL(port, 1, 0) },
		{ addr_l2_io_inb, EXIT_REASON_IO_INSTRUCTION, 1, IO_QUAL(port, 1, IO_IN) },
		{ addr_l2_io_outw, EXIT_REASON_IO_INSTRUCTION, 2, IO_QUAL(port, 2, 0) },
		{ addr_l2_io_inl, EXIT_REASON_IO_INSTRUCTION, 1, IO_QUAL(port, 4, IO_IN) },
		{ addr_l2_io_outi, EXIT_REASON_IO_INSTRUCTION, 2, IO_QUAL(IMM_PORT, 1, IO_IMM) },
		{ addr_l2_io_ini, EXIT_REASON_IO_INSTRUCTION, 2,
		  IO_QUAL(IMM_PORT, 4, IO_IN | IO_IMM) },
		{ addr_l2_io_end, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
	};
	struct tg_check c;

	tg_begin(&c, name);
	vt_wr(GUEST_RIP, (u64)addr_l2_io);
	addr_regs.rdx = port;
	addr_run_steps(&c, !launch, s, ARRAY_SIZE(s));
	tg_end(&c);
}

/* REP OUTSB and REP INSB exit before their first iteration: the
 * qualification, the guest-linear address of the memory operand (SDM
 * 28.2.1) and the instruction information (SDM 28.2.5). */
static void expect_string_exit(struct tg_check *c, struct vt_env *env, bool in, u64 linear)
{
	u32 info = (u32)vt_rd(VMX_INSTRUCTION_INFO);

	vt_expect_eq(c, "guest-linear address", vt_rd(GUEST_LINEAR_ADDRESS), linear);
	vt_expect_eq(c, "L2's RCX (no iteration ran)", addr_regs.rcx, STR_COUNT);
	if (!(env->caps.basic & BASIC_INS_OUTS_INFO))
		return;
	vt_expect_eq(c, "instruction information: address size",
		     info >> INFO_ADDR_SIZE_SHIFT & INFO_FIELD_MASK, INFO_ADDR_SIZE_64);
	if (!in)
		vt_expect_eq(c, "instruction information: segment",
			     info >> INFO_SEG_SHIFT & INFO_FIELD_MASK, INFO_SEG_DS);
}

static void absent_string_io(struct vt_env *env)
{
	u64 buf = vt_pa(env, PG_VAPIC), flags = IO_STRING | IO_REP;
	struct tg_check c;

	tg_begin(&c, "addr-io-absent-string");
	vt_wr(GUEST_RIP, (u64)addr_l2_str);
	addr_regs.rdx = PORT_A;
	addr_regs.rcx = STR_COUNT;
	addr_regs.rsi = buf;
	addr_regs.rdi = buf + 0x100;
	const struct step outs = { addr_l2_str_outs, EXIT_REASON_IO_INSTRUCTION, 2,
				   IO_QUAL(PORT_A, 1, flags) };
	const struct step ins = { addr_l2_str_ins, EXIT_REASON_IO_INSTRUCTION, 2,
				  IO_QUAL(PORT_A, 1, flags | IO_IN) };
	if (addr_run_steps(&c, true, &outs, 1)) {
		expect_string_exit(&c, env, false, buf);
		if (addr_run_steps(&c, true, &ins, 1))
			expect_string_exit(&c, env, true, buf + 0x100);
	}
	tg_end(&c);
}

static void absent_io_checks(struct vt_env *env)
{
	struct tg_check c;

	tg_begin(&c, "addr-io-bitmaps-absent-entry");
	bool ok = addr_setup(env, &c, addr_l2_io, CPU_BASED_USE_IO_BITMAPS) &&
		  addr_wr(&c, IO_BITMAP_A, absent(AB_IO_A)) && addr_wr(&c, IO_BITMAP_B, absent(AB_IO_B));
	tg_end(&c);
	if (!ok)
		return;
	absent_io("addr-io-absent-bitmap-a", PORT_A, true);
	absent_io("addr-io-absent-bitmap-b", PORT_B_LAST, false);
	absent_io("addr-io-absent-bitmaps-a-and-b", PORT_AB, false);
	absent_string_io(env);
}

/* RDMSR and WRMSR of 'msr' exit with the MSR bitmap outside RAM. */
static void absent_msr(const char *name, u32 msr, bool launch)
{
	const struct step s[] = {
		{ addr_l2_msr_rd, EXIT_REASON_RDMSR, 2, 0 },
		{ addr_l2_msr_wr, EXIT_REASON_WRMSR, 2, 0 },
		{ addr_l2_msr_end, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
	};
	u64 value = 0;
	struct tg_check c;

	/* WRMSR writes what is there already, should it run after all. */
	if (msr != MSR_LOW_LAST && msr != MSR_HIGH_LAST)
		value = rdmsr(msr);
	tg_begin(&c, name);
	vt_wr(GUEST_RIP, (u64)addr_l2_msr);
	addr_regs.rcx = msr;
	addr_regs.rax = (u32)value;
	addr_regs.rdx = value >> 32;
	if (addr_run_steps(&c, !launch, s, ARRAY_SIZE(s)))
		vt_expect_eq(&c, "L2's RAX (RDMSR did not run)", addr_regs.rax, (u32)value);
	tg_end(&c);
}

static void absent_msr_checks(struct vt_env *env)
{
	struct tg_check c;

	tg_begin(&c, "addr-msr-bitmap-absent-entry");
	bool ok = addr_setup(env, &c, addr_l2_msr, CPU_BASED_USE_MSR_BITMAPS) &&
		  addr_wr(&c, MSR_BITMAP, absent(AB_MSR_BITMAP));
	tg_end(&c);
	if (!ok)
		return;
	/* The guest's SYSENTER_CS is 0 (vt_vmcs_setup): RAX = 0 either way. */
	absent_msr("addr-msr-absent-low", MSR_IA32_SYSENTER_CS, true);
	absent_msr("addr-msr-absent-low-last", MSR_LOW_LAST, false);
	absent_msr("addr-msr-absent-high", MSR_IA32_KERNEL_GS_BASE, false);
	absent_msr("addr-msr-absent-high-last", MSR_HIGH_LAST, false);
}

/* SDM 27.2.1.1: with "use TPR shadow" (and no APIC virtualization), TPR
 * threshold bits 3:0 must not exceed VTPR bits 7:4: VM entry reads the
 * virtual-APIC page. Outside RAM VTPR is FFH, so threshold 15 enters,
 * and MOV from CR8 gives 15 (SDM 30.3 "Virtualizing MOV from CR8"). */
static void vapic_checks(struct vt_env *env)
{
	u32 err7 = VT_FAIL_VALID(VMXERR_ENTRY_INVALID_CONTROL);
	struct tg_check c;

	if (!(env->caps.proc1 & CPU_BASED_TPR_SHADOW)) {
		tg_begin(&c, "addr-tpr-shadow-offered");
		tg_expect(&c, false, "the processor-based allowed-1 settings %x do not allow "
			  "\"use TPR shadow\"", env->caps.proc1);
		tg_end(&c);
		return;
	}
	launch_with(env, "addr-vapic-unaligned", CPU_BASED_TPR_SHADOW, VIRTUAL_APIC_PAGE_ADDR,
		    absent(AB_VAPIC) + 0x80, 0, 0, err7);
	launch_with(env, "addr-vapic-beyond-width", CPU_BASED_TPR_SHADOW, VIRTUAL_APIC_PAGE_ADDR,
		    1ULL << env->caps.maxphyaddr, 0, 0, err7);
	/* A page of zeros in RAM: VTPR 0 < threshold 1. */
	SetMem(vt_page(env, PG_VAPIC), PAGE_SIZE, 0);
	launch_with(env, "addr-vapic-threshold-above-vtpr", CPU_BASED_TPR_SHADOW,
		    VIRTUAL_APIC_PAGE_ADDR, vt_pa(env, PG_VAPIC), TPR_THRESHOLD, 1, err7);

	tg_begin(&c, "addr-vapic-absent");
	if (addr_setup(env, &c, addr_l2_cr8, CPU_BASED_TPR_SHADOW) &&
	    addr_wr(&c, VIRTUAL_APIC_PAGE_ADDR, absent(AB_VAPIC)) &&
	    addr_wr(&c, TPR_THRESHOLD, TPR_THRESHOLD_MAX) &&
	    vt_expect_exit(&c, vt_enter(&addr_regs, 0), EXIT_REASON_VMCALL, (u64)addr_l2_cr8_end))
		vt_expect_eq(&c, "CR8 as L2 read it (VTPR[7:4])", addr_regs.rax, 0xff >> VTPR_SHIFT);
	tg_end(&c);

	/* MOV to CR8 writes VTPR (SDM 30.3), where nothing keeps it: CR8
	 * read back is VTPR[7:4] of all ones again. TPR virtualization
	 * then compares VTPR[7:4], as the page holds it, with the TPR
	 * threshold (SDM 30.1.2): 15 is not below 15, no exit. */
	tg_begin(&c, "addr-vapic-absent-cr8-write");
	addr_regs.rbx = CR8_VALUE;
	addr_regs.rcx = 0;
	vt_wr(GUEST_RIP, (u64)addr_l2_cr8_write);
	if (vt_expect_exit(&c, vt_enter(&addr_regs, 1), EXIT_REASON_VMCALL,
			   (u64)addr_l2_cr8_write_end))
		vt_expect_eq(&c, "CR8 read after writing 3", addr_regs.rcx, 0xff >> VTPR_SHIFT);
	tg_end(&c);

	/* Bits 63:4 of the source set: #GP(0) (SDM Vol. 2, MOV to CR8),
	 * which the exception bitmap turns into an exit. */
	tg_begin(&c, "addr-vapic-absent-cr8-reserved-gp");
	addr_regs.rbx = 1u << VTPR_SHIFT;
	vt_wr(GUEST_RIP, (u64)addr_l2_cr8_write);
	if (vt_expect_exit(&c, vt_enter(&addr_regs, 1), EXIT_REASON_EXCEPTION_NMI,
			   (u64)addr_l2_cr8_write)) {
		vt_expect_eq(&c, "exit interruption information", vt_rd(VM_EXIT_INTR_INFO),
			     INTR_INFO_VALID | INTR_INFO_DELIVER_CODE | INTR_TYPE_HW_EXCEPTION |
			     EXC_GP);
		vt_expect_eq(&c, "error code", vt_rd(VM_EXIT_INTR_ERROR_CODE), 0);
	}
	tg_end(&c);

	tg_begin(&c, "addr-vapic-absent-cr8-write-threshold-0");
	addr_regs.rbx = CR8_VALUE;
	vt_wr(GUEST_RIP, (u64)addr_l2_cr8_write);
	vt_wr(TPR_THRESHOLD, 0);
	addr_regs.rcx = 0;
	if (vt_expect_exit(&c, vt_enter(&addr_regs, 1), EXIT_REASON_VMCALL,
			   (u64)addr_l2_cr8_write_end))
		vt_expect_eq(&c, "CR8 read after writing 3", addr_regs.rcx, 0xff >> VTPR_SHIFT);
	tg_end(&c);
}

/* SDM 27.4: an entry of all ones (reserved bits 63:32 set) fails the
 * entry: exit reason 34 with bit 31, qualification the entry's 1-based
 * index (SDM 27.8), the VM-exit MSR-store list not used. */
static void entry_msr_load_checks(struct vt_env *env)
{
	struct tg_check c;

	tg_begin(&c, "addr-entry-msr-load-absent");
	if (addr_setup(env, &c, vt_l2_cpuid_loop, 0) &&
	    addr_wr(&c, VM_ENTRY_MSR_LOAD_ADDR, absent(AB_ENTRY_LOAD)) &&
	    addr_wr(&c, VM_ENTRY_MSR_LOAD_COUNT, 2) &&
	    addr_wr(&c, VM_EXIT_MSR_STORE_ADDR, absent(AB_EXIT_STORE)) &&
	    addr_wr(&c, VM_EXIT_MSR_STORE_COUNT, 1) &&
	    vt_expect_exit(&c, vt_enter(&addr_regs, 0), EXIT_REASON_ENTRY_FAIL |
			   EXIT_REASON_ENTRY_FAIL_MSR_LOADING, 0))
		vt_expect_eq(&c, "exit qualification (index of the entry)",
			     vt_rd(EXIT_QUALIFICATION), 1);
	tg_end(&c);

	/* The failed entry left the VMCS clear: VMLAUNCH without the lists. */
	tg_begin(&c, "addr-entry-msr-load-absent-relaunch");
	if (addr_wr(&c, VM_ENTRY_MSR_LOAD_COUNT, 0) && addr_wr(&c, VM_EXIT_MSR_STORE_COUNT, 0))
		vt_expect_exit(&c, vt_enter(&addr_regs, 0), EXIT_REASON_CPUID,
			       (u64)vt_l2_cpuid_loop_at);
	tg_end(&c);
}

void vt_checks_addr(struct vt_env *env)
{
	u8 *io_a = vt_page(env, VT_PG_IO_A), *msr = vt_page(env, VT_PG_MSR_BITMAP);

	SetMem(io_a, PAGE_SIZE, 0);
	SetMem(vt_page(env, VT_PG_IO_B), PAGE_SIZE, 0);
	SetMem(msr, PAGE_SIZE, 0);
	address_checks(env);
	if (absent_reads_ones(env)) {
		absent_io_checks(env);
		absent_msr_checks(env);
		vapic_checks(env);
		entry_msr_load_checks(env);
	}
	addr_bitmap_checks(env);
}
