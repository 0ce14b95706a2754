/* vmxtest: the addresses L1 hands over in the VMCS, and the bitmaps
 * behind them. VM entry checks an address only for alignment and the
 * physical-address width (SDM 27.2.1.1 "VM-Execution Control Fields",
 * 27.2.1.2 "VM-Exit Control Fields", 27.2.1.3 "VM-Entry Control Fields");
 * what lies there is the processor's business when it reads it. Where no
 * memory is, reads give all ones and writes vanish, so I/O bitmaps there
 * make every I/O instruction exit, an MSR bitmap every RDMSR and WRMSR
 * (SDM 26.1.3), a virtual-APIC page there holds VTPR FFH (SDM 30.1.1),
 * and a VM-entry MSR-load list there fails the entry at its first entry
 * (SDM 27.4 "Loading MSRs", 27.8). The CPU decides an I/O instruction,
 * RDMSR or WRMSR by the bitmap as it is at that moment, also when L2
 * itself has just changed it (SDM 26.1.3: "... the I/O bitmaps ..."
 * are consulted on execution). The absent region is 16 GiB, far above
 * the RAM Bochs gives the guest, below the firmware's 64-bit PCI window
 * and below 1 << MAXPHYADDR; the first check makes sure it reads as all
 * ones. VM-exit MSR-store and MSR-load lists there would end the next VM
 * exit in a VMX abort (SDM 28.4, 28.6: an entry of all ones has reserved
 * bits set), so those lists are only put through the entry checks. */
#include <efi.h>
#include <efilib.h>
#include <ept.h>
#include "vmxtest.h"

#define ABSENT 0x400000000ULL   /* 16 GiB: no RAM, no device */
enum absent_page { AB_IO_A, AB_IO_B, AB_MSR_BITMAP, AB_VAPIC, AB_EXIT_STORE, AB_EXIT_LOAD,
		   AB_ENTRY_LOAD, AB_PAGES };

/* Scratch pages: L1's page tables with the absent region mapped, a
 * virtual-APIC page of zeros, and an EPT12 for L2 (the first 4 GiB
 * identity in 2-MiB pages, and a 4-KiB alias of the MSR bitmap at
 * ALIAS_GPA). */
enum {
	PG_PML4 = VT_PG_SCRATCH, PG_PDPT, PG_PD, PG_VAPIC,
	PG_EPT_PML4, PG_EPT_PDPT, PG_EPT_PD, PG_EPT_PT = PG_EPT_PD + 4,
	PG_END
};
_Static_assert(PG_END <= VT_PG_SCRATCH + VT_SCRATCH_PAGES, "scratch pages");

#define PTE_PWT BIT(3)
#define PTE_PCD BIT(4)
#define ALIAS_GPA 0xc0400000ULL /* below 4 GiB, no RAM: EPT12 maps the MSR bitmap */

/* IA32_VMX_EPT_VPID_CAP (SDM A.10). */
#define EPT_CAP_WALK4 BIT(6)
#define EPT_CAP_WB BIT(14)
#define EPT_CAP_2M BIT(16)
#define EPT_CAP_INVEPT BIT(20)
#define EPT_CAP_INVEPT_SINGLE BIT(25)
#define EPT_CAP_INVEPT_ALL BIT(26)
#define INVEPT_SINGLE 1
#define INVEPT_ALL 2

/* Exit qualification of an EPT violation (SDM 28.2.1). */
#define EPTV_READ BIT(0)
#define EPTV_WRITE BIT(1)
#define EPTV_PERM_SHIFT 3
#define EPTV_LINEAR_VALID BIT(7)
#define EPTV_LINEAR_XLATED BIT(8)
#define EPTV_COMPARED 0x1ffULL

/* Exit qualification for I/O instructions (SDM 28.2.1, table "Exit
 * Qualification for I/O Instructions"). */
#define IO_IN BIT(3)
#define IO_STRING BIT(4)
#define IO_REP BIT(5)
#define IO_IMM BIT(6)
#define IO_QUAL(port, size, flags) ((u64)(port) << 16 | ((size) - 1) | (flags))
#define IMM_PORT 0x80
#define PORT_A 0x510       /* I/O bitmap A: ports 0-7FFFH */
#define PORT_B 0xfff0      /* I/O bitmap B: 8000H-FFFFH */
#define PORT_AB 0x7fff     /* a word or dword here touches both bitmaps */
#define PORT_B_LAST 0xfffc /* a dword here reaches FFFFH, no wrap */

/* MSR bitmap (SDM 25.6.9): read low, read high, write low, write high. */
#define MSRB_READ_HIGH 0x400
#define MSRB_WRITE_LOW 0x800
#define MSRB_WRITE_HIGH 0xc00
#define MSR_HIGH_BASE 0xc0000000u
#define MSR_LOW_LAST 0x1fffu
#define MSR_HIGH_LAST 0xc0001fffu

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
#define VMCALL_LEN 3

/* L2's code, 64-bit, sharing L1's address space. Every exception exits
 * (the exception bitmap is all ones), so an instruction that should have
 * exited and faulted instead ends L2's run too. */
#define TOGGLE(name, insn) \
	".globl " name ", " name "_0, " name "_1, " name "_2, " name "_end\n" \
	".hidden " name ", " name "_0, " name "_1, " name "_2, " name "_end\n" \
	name ":\n" name "_0:\n\t" insn "\n\txorb %sil, (%rdi)\n" \
	name "_1:\n\t" insn "\n\txorb %sil, (%rdi)\n" \
	name "_2:\n\t" insn "\n" name "_end:\n\tvmcall\n\tjmp " name "_end\n"
#define LOOP(name, insn) \
	".globl " name ", " name "_call\n.hidden " name ", " name "_call\n" \
	name ":\n\t" insn "\n" name "_call:\n\tvmcall\n\tjmp " name "\n"
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
    /* L2 sets the read bit of MSR ECX (RDI/SIL); WRMSR (write bit clear)
     * and IN at DX (clear) do not exit, IN at R8 (set) and RDMSR do. */
    ".globl addr_l2_mixed, addr_l2_mixed_in, addr_l2_mixed_rd, addr_l2_mixed_end\n"
    ".hidden addr_l2_mixed, addr_l2_mixed_in, addr_l2_mixed_rd, addr_l2_mixed_end\n"
    "addr_l2_mixed:\n\txorb %sil, (%rdi)\n\twrmsr\n\tinb %dx, %al\n\tmovl %r8d, %edx\n"
    "addr_l2_mixed_in:\n\tinb %dx, %al\n"
    "addr_l2_mixed_rd:\n\trdmsr\n"
    "addr_l2_mixed_end:\n\tvmcall\n\tjmp addr_l2_mixed_end\n"
    /* One page as I/O bitmaps A and B and MSR bitmap: L2 sets the bit of
     * port DX, port R8 (DX + 8000H) and MSR ECX (= DX), then clears it. */
    ".globl addr_l2_shared, addr_l2_shared_a, addr_l2_shared_rd, addr_l2_shared_b,"
    " addr_l2_shared_end\n"
    ".hidden addr_l2_shared, addr_l2_shared_a, addr_l2_shared_rd, addr_l2_shared_b,"
    " addr_l2_shared_end\n"
    "addr_l2_shared:\n\txorb %sil, (%rdi)\n"
    "addr_l2_shared_a:\n\tinb %dx, %al\n"
    "addr_l2_shared_rd:\n\trdmsr\n\tmovl %edx, %r9d\n\tmovl %r8d, %edx\n"
    "addr_l2_shared_b:\n\tinb %dx, %al\n"
    "\txorb %sil, (%rdi)\n\tinb %dx, %al\n\tmovl %r9d, %edx\n\tinb %dx, %al\n"
    "addr_l2_shared_end:\n\tvmcall\n\tjmp addr_l2_shared_end\n"
    /* L2 flips a bitmap bit (RDI: the byte, SIL: the bit) around three
     * accesses: _0 and _2 see the bit as L1 left it, _1 the other way. */
    TOGGLE("addr_l2_toggle_in", "inb %dx, %al")
    TOGGLE("addr_l2_toggle_rdmsr", "rdmsr")
    TOGGLE("addr_l2_toggle_wrmsr", "wrmsr")
    /* One access, then VMCALL, again and again (L1 changes the bitmap). */
    LOOP("addr_l2_loop_in", "inb %dx, %al")
    LOOP("addr_l2_loop_wrmsr", "wrmsr")
    ".popsection\n");
extern const u8 addr_l2_io[], addr_l2_io_outb[], addr_l2_io_inb[], addr_l2_io_outw[],
	addr_l2_io_inl[], addr_l2_io_outi[], addr_l2_io_ini[], addr_l2_io_end[],
	addr_l2_msr[], addr_l2_msr_rd[], addr_l2_msr_wr[], addr_l2_msr_end[],
	addr_l2_str[], addr_l2_str_outs[], addr_l2_str_ins[], addr_l2_str_end[],
	addr_l2_cr8[], addr_l2_cr8_end[], addr_l2_cr8_write[], addr_l2_cr8_write_end[],
	addr_l2_mixed[], addr_l2_mixed_in[], addr_l2_mixed_rd[], addr_l2_mixed_end[],
	addr_l2_shared[], addr_l2_shared_a[], addr_l2_shared_rd[], addr_l2_shared_b[],
	addr_l2_shared_end[],
	addr_l2_toggle_in[], addr_l2_toggle_in_0[], addr_l2_toggle_in_1[],
	addr_l2_toggle_in_2[], addr_l2_toggle_in_end[],
	addr_l2_toggle_rdmsr[], addr_l2_toggle_rdmsr_0[], addr_l2_toggle_rdmsr_1[],
	addr_l2_toggle_rdmsr_2[], addr_l2_toggle_rdmsr_end[],
	addr_l2_toggle_wrmsr[], addr_l2_toggle_wrmsr_0[], addr_l2_toggle_wrmsr_1[],
	addr_l2_toggle_wrmsr_2[], addr_l2_toggle_wrmsr_end[],
	addr_l2_loop_in[], addr_l2_loop_in_call[], addr_l2_loop_wrmsr[],
	addr_l2_loop_wrmsr_call[];

static struct tg_regs regs;

static u64 absent(enum absent_page p)
{
	return ABSENT + (u64)p * PAGE_SIZE;
}

/* One expected VM exit: its reason at 'at', the instruction's length,
 * the qualification of an I/O exit. L1 then skips the instruction. */
struct step {
	const u8 *at;
	u32 reason, len;
	u64 qual;
};

static bool run_steps(struct tg_check *c, bool resume, const struct step *s, u32 n)
{
	for (u32 i = 0; i < n; i++, s++) {
		if (!vt_expect_exit(c, vt_enter(&regs, resume || i > 0), s->reason, (u64)s->at) ||
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
static bool setup(struct vt_env *env, struct tg_check *c, const u8 *rip, u32 proc)
{
	struct vt_l2 l2 = {
		.rip = (u64)rip,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = proc,
		.exc_bitmap = ~0u,
	};

	SetMem(&regs, sizeof(regs), 0);
	return vt_load_fresh(env, VT_PG_VMCS_A, &l2, c);
}

static bool wr(struct tg_check *c, u32 field, u64 val)
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
	if (setup(env, &c, vt_l2_cpuid_loop, proc) && wr(&c, field, val) &&
	    (!field2 || wr(&c, field2, val2))) {
		vt_expect_res(&c, "VMLAUNCH", vt_enter(&regs, 0), want);
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
	if (setup(env, &c, vt_l2_cpuid_loop, 0) &&
	    wr(&c, VM_EXIT_MSR_STORE_ADDR, beyond | 8) && wr(&c, VM_EXIT_MSR_LOAD_ADDR, beyond | 8) &&
	    wr(&c, VM_ENTRY_MSR_LOAD_ADDR, beyond | 8))
		vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at);
	tg_end(&c);

	/* Lists outside RAM pass 27.2.1.2; the host state (27.2.2) fails:
	 * the SDM then allows only VMfailValid(8). */
	tg_begin(&c, "addr-exit-msr-lists-absent-pass-checks");
	if (setup(env, &c, vt_l2_cpuid_loop, 0) &&
	    wr(&c, VM_EXIT_MSR_STORE_ADDR, absent(AB_EXIT_STORE)) &&
	    wr(&c, VM_EXIT_MSR_STORE_COUNT, 1) &&
	    wr(&c, VM_EXIT_MSR_LOAD_ADDR, absent(AB_EXIT_LOAD)) &&
	    wr(&c, VM_EXIT_MSR_LOAD_COUNT, 1) && wr(&c, HOST_CR0, read_cr0() & ~CR0_PE))
		vt_expect_res(&c, "VMLAUNCH", vt_enter(&regs, 0),
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
	regs.rdx = port;
	run_steps(&c, !launch, s, ARRAY_SIZE(s));
	tg_end(&c);
}

/* REP OUTSB and REP INSB exit before their first iteration: the
 * qualification, the guest-linear address of the memory operand (SDM
 * 28.2.1) and the instruction information (SDM 28.2.5). */
static void expect_string_exit(struct tg_check *c, struct vt_env *env, bool in, u64 linear)
{
	u32 info = (u32)vt_rd(VMX_INSTRUCTION_INFO);

	vt_expect_eq(c, "guest-linear address", vt_rd(GUEST_LINEAR_ADDRESS), linear);
	vt_expect_eq(c, "L2's RCX (no iteration ran)", regs.rcx, STR_COUNT);
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
	regs.rdx = PORT_A;
	regs.rcx = STR_COUNT;
	regs.rsi = buf;
	regs.rdi = buf + 0x100;
	const struct step outs = { addr_l2_str_outs, EXIT_REASON_IO_INSTRUCTION, 2,
				   IO_QUAL(PORT_A, 1, flags) };
	const struct step ins = { addr_l2_str_ins, EXIT_REASON_IO_INSTRUCTION, 2,
				  IO_QUAL(PORT_A, 1, flags | IO_IN) };
	if (run_steps(&c, true, &outs, 1)) {
		expect_string_exit(&c, env, false, buf);
		if (run_steps(&c, true, &ins, 1))
			expect_string_exit(&c, env, true, buf + 0x100);
	}
	tg_end(&c);
}

static void absent_io_checks(struct vt_env *env)
{
	struct tg_check c;

	tg_begin(&c, "addr-io-bitmaps-absent-entry");
	bool ok = setup(env, &c, addr_l2_io, CPU_BASED_USE_IO_BITMAPS) &&
		  wr(&c, IO_BITMAP_A, absent(AB_IO_A)) && wr(&c, IO_BITMAP_B, absent(AB_IO_B));
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
	regs.rcx = msr;
	regs.rax = (u32)value;
	regs.rdx = value >> 32;
	if (run_steps(&c, !launch, s, ARRAY_SIZE(s)))
		vt_expect_eq(&c, "L2's RAX (RDMSR did not run)", regs.rax, (u32)value);
	tg_end(&c);
}

static void absent_msr_checks(struct vt_env *env)
{
	struct tg_check c;

	tg_begin(&c, "addr-msr-bitmap-absent-entry");
	bool ok = setup(env, &c, addr_l2_msr, CPU_BASED_USE_MSR_BITMAPS) &&
		  wr(&c, MSR_BITMAP, absent(AB_MSR_BITMAP));
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
	if (setup(env, &c, addr_l2_cr8, CPU_BASED_TPR_SHADOW) &&
	    wr(&c, VIRTUAL_APIC_PAGE_ADDR, absent(AB_VAPIC)) &&
	    wr(&c, TPR_THRESHOLD, TPR_THRESHOLD_MAX) &&
	    vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_VMCALL, (u64)addr_l2_cr8_end))
		vt_expect_eq(&c, "CR8 as L2 read it (VTPR[7:4])", regs.rax, 0xff >> VTPR_SHIFT);
	tg_end(&c);

	/* MOV to CR8 writes VTPR (SDM 30.3), where nothing keeps it: CR8
	 * read back is VTPR[7:4] of all ones again. TPR virtualization
	 * then compares VTPR[7:4], as the page holds it, with the TPR
	 * threshold (SDM 30.1.2): 15 is not below 15, no exit. */
	tg_begin(&c, "addr-vapic-absent-cr8-write");
	regs.rbx = CR8_VALUE;
	regs.rcx = 0;
	vt_wr(GUEST_RIP, (u64)addr_l2_cr8_write);
	if (vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_VMCALL,
			   (u64)addr_l2_cr8_write_end))
		vt_expect_eq(&c, "CR8 read after writing 3", regs.rcx, 0xff >> VTPR_SHIFT);
	tg_end(&c);

	/* Bits 63:4 of the source set: #GP(0) (SDM Vol. 2, MOV to CR8),
	 * which the exception bitmap turns into an exit. */
	tg_begin(&c, "addr-vapic-absent-cr8-reserved-gp");
	regs.rbx = 1u << VTPR_SHIFT;
	vt_wr(GUEST_RIP, (u64)addr_l2_cr8_write);
	if (vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_EXCEPTION_NMI,
			   (u64)addr_l2_cr8_write)) {
		vt_expect_eq(&c, "exit interruption information", vt_rd(VM_EXIT_INTR_INFO),
			     INTR_INFO_VALID | INTR_INFO_DELIVER_CODE | INTR_TYPE_HW_EXCEPTION |
			     EXC_GP);
		vt_expect_eq(&c, "error code", vt_rd(VM_EXIT_INTR_ERROR_CODE), 0);
	}
	tg_end(&c);

	tg_begin(&c, "addr-vapic-absent-cr8-write-threshold-0");
	regs.rbx = CR8_VALUE;
	vt_wr(GUEST_RIP, (u64)addr_l2_cr8_write);
	vt_wr(TPR_THRESHOLD, 0);
	regs.rcx = 0;
	if (vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_VMCALL,
			   (u64)addr_l2_cr8_write_end))
		vt_expect_eq(&c, "CR8 read after writing 3", regs.rcx, 0xff >> VTPR_SHIFT);
	tg_end(&c);
}

/* SDM 27.4: an entry of all ones (reserved bits 63:32 set) fails the
 * entry: exit reason 34 with bit 31, qualification the entry's 1-based
 * index (SDM 27.8), the VM-exit MSR-store list not used. */
static void entry_msr_load_checks(struct vt_env *env)
{
	struct tg_check c;

	tg_begin(&c, "addr-entry-msr-load-absent");
	if (setup(env, &c, vt_l2_cpuid_loop, 0) &&
	    wr(&c, VM_ENTRY_MSR_LOAD_ADDR, absent(AB_ENTRY_LOAD)) &&
	    wr(&c, VM_ENTRY_MSR_LOAD_COUNT, 2) &&
	    wr(&c, VM_EXIT_MSR_STORE_ADDR, absent(AB_EXIT_STORE)) &&
	    wr(&c, VM_EXIT_MSR_STORE_COUNT, 1) &&
	    vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_ENTRY_FAIL |
			   EXIT_REASON_ENTRY_FAIL_MSR_LOADING, 0))
		vt_expect_eq(&c, "exit qualification (index of the entry)",
			     vt_rd(EXIT_QUALIFICATION), 1);
	tg_end(&c);

	/* The failed entry left the VMCS clear: VMLAUNCH without the lists. */
	tg_begin(&c, "addr-entry-msr-load-absent-relaunch");
	if (wr(&c, VM_ENTRY_MSR_LOAD_COUNT, 0) && wr(&c, VM_EXIT_MSR_STORE_COUNT, 0))
		vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_CPUID,
			       (u64)vt_l2_cpuid_loop_at);
	tg_end(&c);
}

/* ---- Bitmaps read when they are used ---- */

static void bit_set(u8 *bitmap, u32 n, bool on)
{
	if (on)
		bitmap[n / 8] |= (u8)(1u << (n % 8));
	else
		bitmap[n / 8] &= (u8)~(1u << (n % 8));
}

/* L1 changes the bitmap between VM entries: set, the access exits;
 * cleared, L2 goes on to its VMCALL, twice; set again, it exits. */
static void l1_changes(struct vt_env *env, const char *name, const u8 *loop,
		       const u8 *call, u32 reason, u32 len, u8 *bitmap, u32 bit)
{
	struct tg_check c;
	u32 proc = reason == EXIT_REASON_IO_INSTRUCTION ? CPU_BASED_USE_IO_BITMAPS :
		   CPU_BASED_USE_MSR_BITMAPS;
	const struct step set[] = { { loop, reason, len, IO_QUAL(PORT_A, 1, IO_IN) } };
	const struct step clear[] = {
		{ call, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
		{ call, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
	};

	tg_begin(&c, name);
	bit_set(bitmap, bit, true);
	if (setup(env, &c, loop, proc)) {
		regs.rdx = PORT_A;
		regs.rcx = MSR_IA32_SYSENTER_CS; /* WRMSR 0 (its guest value) */
		if (run_steps(&c, false, set, 1)) {
			bit_set(bitmap, bit, false);
			if (run_steps(&c, true, clear, 2)) {
				bit_set(bitmap, bit, true);
				vt_wr(GUEST_RIP, (u64)loop);
				run_steps(&c, true, set, 1);
			}
		}
	}
	bit_set(bitmap, bit, false);
	tg_end(&c);
}

/* The bitmaps in RAM (the vmxtest pages), one access at a time. */
struct toggle {
	const char *name;
	const u8 *code, *at[3], *end;
	u32 reason, len;
	u8 *bitmap;     /* as L1 sees it */
	u64 l2_bitmap;  /* where L2 writes it (an alias under EPT12) */
	u32 bit;        /* the port, or the MSR's bit in its quarter */
};

/* L2 flips the bit of its port or MSR around three accesses, starting
 * from the bit as L1 set it ('first'): _0 and _2 exit iff it was set,
 * _1 iff it was clear. */
static void l2_toggles(struct vt_env *env, const struct toggle *t, bool first, u32 proc2,
		       u64 eptp)
{
	char name[64];
	struct step s[4];
	u32 n = 0, proc = t->reason == EXIT_REASON_IO_INSTRUCTION ? CPU_BASED_USE_IO_BITMAPS :
		   CPU_BASED_USE_MSR_BITMAPS;
	struct tg_check c;

	for (int i = 0; i < 3; i++)
		if ((i == 1) != first)
			s[n++] = (struct step){ t->at[i], t->reason, t->len,
						IO_QUAL(PORT_B, 1, IO_IN) };
	s[n++] = (struct step){ t->end, EXIT_REASON_VMCALL, VMCALL_LEN, 0 };
	tg_snprintf(name, sizeof(name), "%s-%s", t->name, first ? "set-first" : "clear-first");
	tg_begin(&c, name);
	bit_set(t->bitmap, t->bit, first);
	struct vt_l2 l2 = {
		.rip = (u64)t->code,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = proc, .proc2 = proc2, .exc_bitmap = ~0u,
	};
	SetMem(&regs, sizeof(regs), 0);
	regs.rdi = t->l2_bitmap + t->bit / 8;
	regs.rsi = 1u << (t->bit % 8);
	regs.rdx = PORT_B;
	regs.rcx = t->reason == EXIT_REASON_RDMSR ? MSR_IA32_KERNEL_GS_BASE : MSR_IA32_SYSENTER_CS;
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    (!proc2 || tg_expect(&c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER")) &&
	    run_steps(&c, false, s, n))
		vt_expect_eq(&c, "the bitmap byte after L2 flipped it twice",
			     t->bitmap[t->bit / 8], first ? 1u << (t->bit % 8) : 0);
	bit_set(t->bitmap, t->bit, false);
	tg_end(&c);
}

static void toggle_all(struct vt_env *env, const char *prefix, u32 proc2, u64 eptp, u64 alias)
{
	u8 *io_b = vt_page(env, VT_PG_IO_B), *msr = vt_page(env, VT_PG_MSR_BITMAP);
	u64 msr_l2 = alias ? alias : (u64)msr;
	char in[48], rd[48], wrm[48];

	tg_snprintf(in, sizeof(in), "%s-in", prefix);
	tg_snprintf(rd, sizeof(rd), "%s-rdmsr-high", prefix);
	tg_snprintf(wrm, sizeof(wrm), "%s-wrmsr-low", prefix);
	const struct toggle t[] = {
		{ in, addr_l2_toggle_in, { addr_l2_toggle_in_0, addr_l2_toggle_in_1,
		  addr_l2_toggle_in_2 }, addr_l2_toggle_in_end, EXIT_REASON_IO_INSTRUCTION, 1,
		  io_b, (u64)io_b, PORT_B - 0x8000 },
		{ rd, addr_l2_toggle_rdmsr, { addr_l2_toggle_rdmsr_0, addr_l2_toggle_rdmsr_1,
		  addr_l2_toggle_rdmsr_2 }, addr_l2_toggle_rdmsr_end, EXIT_REASON_RDMSR, 2,
		  msr + MSRB_READ_HIGH, msr_l2 + MSRB_READ_HIGH,
		  MSR_IA32_KERNEL_GS_BASE - MSR_HIGH_BASE },
		{ wrm, addr_l2_toggle_wrmsr, { addr_l2_toggle_wrmsr_0, addr_l2_toggle_wrmsr_1,
		  addr_l2_toggle_wrmsr_2 }, addr_l2_toggle_wrmsr_end, EXIT_REASON_WRMSR, 2,
		  msr + MSRB_WRITE_LOW, msr_l2 + MSRB_WRITE_LOW, MSR_IA32_SYSENTER_CS },
	};
	for (u32 i = alias ? 1 : 0; i < ARRAY_SIZE(t); i++) { /* the alias: MSR bitmap only */
		l2_toggles(env, &t[i], false, proc2, eptp);
		l2_toggles(env, &t[i], true, proc2, eptp);
	}
}

/* L2 sets an MSR bitmap bit; its I/O instructions and its WRMSR are
 * still decided by their own bitmaps (EPT12 'eptp' when 'proc2'). */
static void mixed(struct vt_env *env, const char *name, u32 proc2, u64 eptp)
{
	u8 *io_a = vt_page(env, VT_PG_IO_A), *msr = vt_page(env, VT_PG_MSR_BITMAP);
	const struct step s[] = {
		{ addr_l2_mixed_in, EXIT_REASON_IO_INSTRUCTION, 1, IO_QUAL(PORT_AB, 1, IO_IN) },
		{ addr_l2_mixed_rd, EXIT_REASON_RDMSR, 2, 0 },
		{ addr_l2_mixed_end, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
	};
	struct vt_l2 l2 = {
		.rip = (u64)addr_l2_mixed,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS,
		.proc2 = proc2, .exc_bitmap = ~0u,
	};
	struct tg_check c;

	tg_begin(&c, name);
	bit_set(io_a, PORT_AB, true);
	SetMem(&regs, sizeof(regs), 0);
	regs.rdi = (u64)msr + MSR_IA32_SYSENTER_CS / 8;
	regs.rsi = 1u << (MSR_IA32_SYSENTER_CS % 8);
	regs.rcx = MSR_IA32_SYSENTER_CS;
	regs.rdx = PORT_A;
	regs.r8 = PORT_AB;
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    (!proc2 || tg_expect(&c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER")))
		run_steps(&c, false, s, ARRAY_SIZE(s));
	bit_set(io_a, PORT_AB, false);
	bit_set(msr, MSR_IA32_SYSENTER_CS, false);
	tg_end(&c);
}

/* One page is I/O bitmap A, I/O bitmap B and the MSR bitmap: the same
 * bit stands for port P, port 8000H + P and the read of MSR P. */
static void shared_page(struct vt_env *env, const char *name, u32 proc2, u64 eptp)
{
	u8 *page = vt_page(env, VT_PG_IO_B);
	u64 pa = vt_pa(env, VT_PG_IO_B);
	const struct step s[] = {
		{ addr_l2_shared_a, EXIT_REASON_IO_INSTRUCTION, 1, IO_QUAL(PORT_A, 1, IO_IN) },
		{ addr_l2_shared_rd, EXIT_REASON_RDMSR, 2, 0 },
		{ addr_l2_shared_b, EXIT_REASON_IO_INSTRUCTION, 1,
		  IO_QUAL(PORT_A + 0x8000, 1, IO_IN) },
		{ addr_l2_shared_end, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
	};
	struct vt_l2 l2 = {
		.rip = (u64)addr_l2_shared,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS,
		.proc2 = proc2, .exc_bitmap = ~0u,
	};
	struct tg_check c;

	tg_begin(&c, name);
	SetMem(&regs, sizeof(regs), 0);
	regs.rdi = pa + PORT_A / 8;
	regs.rsi = 1u << (PORT_A % 8);
	regs.rcx = PORT_A;
	regs.rdx = PORT_A;
	regs.r8 = PORT_A + 0x8000;
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    wr(&c, IO_BITMAP_A, pa) && wr(&c, IO_BITMAP_B, pa) && wr(&c, MSR_BITMAP, pa) &&
	    (!proc2 || tg_expect(&c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER")) &&
	    run_steps(&c, false, s, ARRAY_SIZE(s)))
		vt_expect_eq(&c, "the shared byte after L2", page[PORT_A / 8], 0);
	SetMem(page, PAGE_SIZE, 0);
	tg_end(&c);
}

/* ---- The same with L1 using EPT ---- */

static bool invept(u64 type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };
	u8 fail;

	asm volatile("invept %1, %2; setbe %0" : "=qm"(fail) : "m"(desc), "r"(type)
		     : "cc", "memory");
	return !fail;
}

/* EPT12: the first 4 GiB identity, RWX, WB, in 2-MiB pages, but the 2
 * MiB at ALIAS_GPA, whose first 4-KiB page is the MSR bitmap. */
static u64 ept_build(struct vt_env *env)
{
	u64 *pml4 = (u64 *)vt_page(env, PG_EPT_PML4), *pdpt = (u64 *)vt_page(env, PG_EPT_PDPT);
	u64 *pt = (u64 *)vt_page(env, PG_EPT_PT);
	const u64 wb = (u64)EPT_MT_WB << EPT_MT_SHIFT;

	SetMem(pml4, PAGE_SIZE, 0);
	SetMem(pdpt, PAGE_SIZE, 0);
	SetMem(pt, PAGE_SIZE, 0);
	pml4[0] = vt_pa(env, PG_EPT_PDPT) | EPT_RWX;
	for (u64 i = 0; i < 4; i++) {
		u64 *pd = (u64 *)vt_page(env, PG_EPT_PD + (int)i);
		pdpt[i] = vt_pa(env, PG_EPT_PD + (int)i) | EPT_RWX;
		for (u64 j = 0; j < EPT_ENTRIES; j++)
			pd[j] = (i << 30 | j << 21) | EPT_RWX | wb | EPT_LARGE;
	}
	pt[0] = vt_pa(env, VT_PG_MSR_BITMAP) | EPT_RWX | wb;
	((u64 *)vt_page(env, PG_EPT_PD + (int)(ALIAS_GPA >> 30)))[(ALIAS_GPA >> 21) & 511] =
		vt_pa(env, PG_EPT_PT) | EPT_RWX;
	return vt_pa(env, PG_EPT_PML4) | EPTP_MT_WB | EPTP_WALK_4;
}

static bool set_alias(struct tg_check *c, struct vt_env *env, u64 cap, u64 eptp, u64 perms)
{
	((u64 *)vt_page(env, PG_EPT_PT))[0] = vt_pa(env, VT_PG_MSR_BITMAP) | perms |
					      (u64)EPT_MT_WB << EPT_MT_SHIFT;
	return tg_expect(c, cap & EPT_CAP_INVEPT_ALL ? invept(INVEPT_ALL, 0) :
			 invept(INVEPT_SINGLE, eptp), "INVEPT failed");
}

/* EPT12 maps the alias read-only: L2's write there is an EPT violation
 * for L1 (SDM 29.3.3.2), not something L0 may swallow; made writable,
 * the write and the bitmap's new contents take effect. */
static void ept_read_only(struct vt_env *env, u64 cap, u64 eptp)
{
	u32 bit = MSR_IA32_KERNEL_GS_BASE - MSR_HIGH_BASE;
	u64 gpa = ALIAS_GPA + MSRB_READ_HIGH + bit / 8;
	u64 at = (u64)addr_l2_toggle_rdmsr_0 + 2, want = EPTV_WRITE | EPT_R << EPTV_PERM_SHIFT |
		EPTV_LINEAR_VALID | EPTV_LINEAR_XLATED;
	const struct step s[] = {
		{ addr_l2_toggle_rdmsr_1, EXIT_REASON_RDMSR, 2, 0 },
		{ addr_l2_toggle_rdmsr_end, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
	};
	struct vt_l2 l2 = {
		.rip = (u64)addr_l2_toggle_rdmsr,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = CPU_BASED_USE_MSR_BITMAPS, .proc2 = SECONDARY_ENABLE_EPT,
		.exc_bitmap = ~0u,
	};
	struct tg_check c;

	tg_begin(&c, "addr-ept-alias-read-only");
	SetMem(&regs, sizeof(regs), 0);
	regs.rdi = gpa;
	regs.rsi = 1u << (bit % 8);
	regs.rcx = MSR_IA32_KERNEL_GS_BASE;
	if (set_alias(&c, env, cap, eptp, EPT_R) && vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    tg_expect(&c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER") &&
	    vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_EPT_VIOLATION, at)) {
		/* Bit 0 (read) of a read-modify-write is not compared. */
		u64 qual = vt_rd(EXIT_QUALIFICATION) & EPTV_COMPARED & ~EPTV_READ;
		vt_expect_eq(&c, "exit qualification bits 8:1", qual, want);
		vt_expect_eq(&c, "GUEST_PHYSICAL_ADDRESS", vt_rd(GUEST_PHYSICAL_ADDRESS), gpa);
		vt_expect_eq(&c, "the bitmap (the write did not happen)",
			     vt_page(env, VT_PG_MSR_BITMAP)[MSRB_READ_HIGH + bit / 8], 0);
		if (!c.failed && set_alias(&c, env, cap, eptp, EPT_RWX))
			run_steps(&c, true, s, ARRAY_SIZE(s));
	}
	set_alias(&c, env, cap, eptp, EPT_RWX);
	SetMem(vt_page(env, VT_PG_MSR_BITMAP), PAGE_SIZE, 0);
	tg_end(&c);
}

static void ept_checks(struct vt_env *env)
{
	const u64 need = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_INVEPT;
	u64 cap = env->caps.proc2_1 & SECONDARY_ENABLE_EPT ?
		rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0, eptp;
	struct tg_check c;

	if ((cap & need) != need || !(cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		tg_printf("%s: note: no EPT (4-level, WB, 2-MiB pages, INVEPT): no addr-ept "
			  "checks\n", tg_prog);
		return;
	}
	eptp = ept_build(env);
	/* SDM 29.4.3.1: the EPTP may have been used with other tables. */
	tg_begin(&c, "addr-ept-setup");
	tg_expect(&c, cap & EPT_CAP_INVEPT_ALL ? invept(INVEPT_ALL, 0) :
		  invept(INVEPT_SINGLE, eptp), "INVEPT failed");
	tg_end(&c);
	toggle_all(env, "addr-ept-l2-toggles", SECONDARY_ENABLE_EPT, eptp, 0);
	/* L2 writes the MSR bitmap through another guest-physical address. */
	toggle_all(env, "addr-ept-alias-l2-toggles", SECONDARY_ENABLE_EPT, eptp, ALIAS_GPA);
	ept_read_only(env, cap, eptp);
	mixed(env, "addr-ept-l2-writes-msr-bitmap-then-io", SECONDARY_ENABLE_EPT, eptp);
	shared_page(env, "addr-ept-l2-toggles-shared-bitmap-page", SECONDARY_ENABLE_EPT, eptp);
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
	l1_changes(env, "addr-l1-changes-io-bitmap", addr_l2_loop_in, addr_l2_loop_in_call,
		   EXIT_REASON_IO_INSTRUCTION, 1, io_a, PORT_A);
	l1_changes(env, "addr-l1-changes-msr-bitmap", addr_l2_loop_wrmsr,
		   addr_l2_loop_wrmsr_call, EXIT_REASON_WRMSR, 2, msr + MSRB_WRITE_LOW,
		   MSR_IA32_SYSENTER_CS);
	toggle_all(env, "addr-l2-toggles", 0, 0, 0);
	mixed(env, "addr-l2-writes-msr-bitmap-then-io", 0, 0);
	shared_page(env, "addr-l2-toggles-shared-bitmap-page", 0, 0);
	ept_checks(env);
}
