/* Exit reflection: which L2 exits L1's controls ask for (see reflect.h).
 * Section numbers are SDM Vol. 3C, 2023 numbering. */
#include "nested/reflect.h"
#include "exit_reason.h"
#include "cpu.h"

/* MSR bitmap layout (SDM 25.6.9 "MSR-Bitmap Address"): four 1-KByte
 * bitmaps for reads and writes of the low and high MSR ranges. */
#define MSR_BITMAP_READ_LOW 0x000
#define MSR_BITMAP_READ_HIGH 0x400
#define MSR_BITMAP_WRITE_LOW 0x800
#define MSR_BITMAP_WRITE_HIGH 0xc00
#define MSR_LOW_LAST 0x00001fffu
#define MSR_HIGH_FIRST 0xc0000000u
#define MSR_HIGH_LAST 0xc0001fffu

/* I/O bitmaps (SDM 25.6.4 "I/O-Bitmap Addresses"): A covers 0000H-7FFFH,
 * B covers 8000H-FFFFH. */
#define IO_BITMAP_SPLIT 0x8000u

#define CR3_TARGET_MAX 4  /* VM entry fails with a larger count (SDM 27.2.1.1) */

static u32 cpu_ctls(const struct vmcs12 *v)
{
	return v->cpu_based_vm_exec_control;
}

/* Secondary controls act only with "activate secondary controls" (25.6.2). */
static u32 sec_ctls(const struct vmcs12 *v)
{
	return (v->cpu_based_vm_exec_control & CPU_BASED_ACTIVATE_SECONDARY) ?
		v->secondary_vm_exec_control : 0;
}

/* Bit 'bit' of the bitmap at gpa; a failed read is a set bit. */
static bool bitmap_test(const struct reflect_ctx *c, u64 gpa, u32 bit)
{
	u8 byte;

	if (c->read_phys(c->ctx, gpa + bit / 8, &byte, 1))
		return true;
	return byte & (1u << (bit % 8));
}

/* 26.1.3 "RDMSR"/"WRMSR": every RDMSR/WRMSR exits without MSR bitmaps,
 * and so does an MSR outside both bitmap ranges; else the bitmap bit. */
bool nested_msr_exits(const struct reflect_ctx *c, u32 msr, bool write)
{
	const struct vmcs12 *v = c->v12;
	u32 base;

	if (!(cpu_ctls(v) & CPU_BASED_USE_MSR_BITMAPS))
		return true;
	if (msr <= MSR_LOW_LAST)
		base = write ? MSR_BITMAP_WRITE_LOW : MSR_BITMAP_READ_LOW;
	else if (msr >= MSR_HIGH_FIRST && msr <= MSR_HIGH_LAST)
		base = write ? MSR_BITMAP_WRITE_HIGH : MSR_BITMAP_READ_HIGH;
	else
		return true;
	return bitmap_test(c, v->msr_bitmap, base * 8 + (msr & MSR_LOW_LAST));
}

/* 26.1.3 "I/O instructions": without I/O bitmaps, unconditional I/O
 * exiting decides. With them (unconditional exiting is then ignored), any
 * set bit among the ports accessed, and an access that wraps past FFFFH
 * always exits. INS/OUTS with REP check the same ports each iteration. */
bool nested_io_exits(const struct reflect_ctx *c, u16 port, u32 size)
{
	const struct vmcs12 *v = c->v12;

	if (!(cpu_ctls(v) & CPU_BASED_USE_IO_BITMAPS))
		return cpu_ctls(v) & CPU_BASED_UNCOND_IO_EXITING;
	if ((u32)port + size - 1 > 0xffff)
		return true;
	for (u32 p = port; p < (u32)port + size; p++) {
		u64 map = p < IO_BITMAP_SPLIT ? v->io_bitmap_a : v->io_bitmap_b;

		if (bitmap_test(c, map, p % IO_BITMAP_SPLIT))
			return true;
	}
	return false;
}

/* 26.1.3 "VMREAD"/"VMWRITE": in VMX non-root operation they exit unless
 * "VMCS shadowing" is 1, bits 63:15 of the encoding operand are 0 and the
 * encoding's bit (bits 14:0) in the VMREAD or VMWRITE bitmap is 0. */
static bool vmcs_access_exits(const struct reflect_ctx *c, const struct l2_exit *e, bool write)
{
	const struct vmcs12 *v = c->v12;

	if (!(sec_ctls(v) & SECONDARY_VMCS_SHADOWING) || (e->vmcs_field >> 15))
		return true;
	return bitmap_test(c, write ? v->vmwrite_bitmap : v->vmread_bitmap, (u32)e->vmcs_field);
}

/* 26.2 "Exceptions": the exception bitmap by vector; for #PF, bit 14 is
 * followed when PFEC & PFEC_MASK = PFEC_MATCH and inverted otherwise.
 * NMIs exit with "NMI exiting". */
static bool exception_exits(const struct vmcs12 *v, const struct l2_exit *e)
{
	struct intr_info i = intr_info_decode(e->intr_info);
	bool bit;

	if (i.type == INTR_TYPE_NMI)
		return v->pin_based_vm_exec_control & PIN_BASED_NMI_EXITING;
	if (i.vector >= 32)
		return false;
	bit = v->exception_bitmap & (1u << i.vector);
	if (i.vector == EXC_PF) {
		bool match = (e->intr_error & v->page_fault_error_code_mask) ==
			     v->page_fault_error_code_match;

		return match ? bit : !bit;
	}
	return bit;
}

/* 26.1.3 "CLTS", "LMSW", "MOV from CR3/CR8", "MOV to CR0/CR3/CR4/CR8".
 * CR0 and CR4 reads never exit (they return the read shadow's bits). */
static bool cr_access_exits(const struct vmcs12 *v, const struct l2_exit *e)
{
	struct cr_access a = cr_access_decode(e->qualification);
	u32 ctl = cpu_ctls(v);

	switch (a.type) {
	case CR_ACCESS_MOV_TO:
		switch (a.cr) {
		case 0:
			return (e->cr_value ^ v->cr0_read_shadow) & v->cr0_guest_host_mask;
		case 4:
			return (e->cr_value ^ v->cr4_read_shadow) & v->cr4_guest_host_mask;
		case 3: {
			/* Only the first CR3-target-count values count; with a
			 * count of 0 every MOV to CR3 exits. */
			const u64 target[CR3_TARGET_MAX] = {
				v->cr3_target_value0, v->cr3_target_value1,
				v->cr3_target_value2, v->cr3_target_value3,
			};
			u32 n = v->cr3_target_count;

			if (!(ctl & CPU_BASED_CR3_LOAD_EXITING))
				return false;
			for (u32 i = 0; i < n && i < CR3_TARGET_MAX; i++)
				if (target[i] == e->cr_value)
					return false;
			return true;
		}
		case 8:
			/* With "use TPR shadow" and no CR8-load exiting the
			 * write goes to L1's virtual-APIC page (26.3), not to L1. */
			return ctl & CPU_BASED_CR8_LOAD_EXITING;
		}
		return false;
	case CR_ACCESS_MOV_FROM:
		if (a.cr == 3)
			return ctl & CPU_BASED_CR3_STORE_EXITING;
		if (a.cr == 8)
			return ctl & CPU_BASED_CR8_STORE_EXITING;
		return false;
	case CR_ACCESS_CLTS:
		/* Exits if CR0.TS is set in both the mask and the shadow. */
		return v->cr0_guest_host_mask & v->cr0_read_shadow & CR0_TS;
	case CR_ACCESS_LMSW: {
		/* LMSW writes bits 3:0 but never clears PE: exit if PE is owned
		 * by L1, set in the source and clear in the shadow, or an owned
		 * bit among 3:1 differs from the shadow. */
		u64 mask = v->cr0_guest_host_mask, shadow = v->cr0_read_shadow;
		u64 src = a.lmsw_source_data;
		u64 bits31 = CR0_MP | CR0_EM | CR0_TS;

		if ((mask & CR0_PE) && (src & CR0_PE) && !(shadow & CR0_PE))
			return true;
		return (mask & bits31) & (src ^ shadow);
	}
	}
	return false;
}

bool nested_exit_to_l1(const struct reflect_ctx *c, const struct l2_exit *e)
{
	const struct vmcs12 *v = c->v12;
	u32 pin = v->pin_based_vm_exec_control, ctl = cpu_ctls(v), sec = sec_ctls(v);

	switch (e->reason) {
	/* 26.2: events. */
	case EXIT_REASON_EXCEPTION_NMI:
		return exception_exits(v, e);
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		return pin & PIN_BASED_EXT_INTR_MASK;
	case EXIT_REASON_TRIPLE_FAULT:
	case EXIT_REASON_INIT_SIGNAL:
	case EXIT_REASON_SIPI:
		return true;  /* unconditional in VMX non-root operation */
	case EXIT_REASON_INTERRUPT_WINDOW:
		return ctl & CPU_BASED_INTR_WINDOW_EXITING;
	case EXIT_REASON_NMI_WINDOW:
		return ctl & CPU_BASED_NMI_WINDOW_EXITING;
	case EXIT_REASON_TASK_SWITCH:
		return true;  /* not allowed in VMX non-root operation (26.2) */
	case EXIT_REASON_PREEMPTION_TIMER:
		return pin & PIN_BASED_VMX_PREEMPTION_TIMER;  /* 26.5.1 */
	case EXIT_REASON_TPR_BELOW_THRESHOLD:
		return ctl & CPU_BASED_TPR_SHADOW;  /* L1's TPR threshold */

	/* 26.1.2 "Instructions That Cause VM Exits Unconditionally". */
	case EXIT_REASON_CPUID:
	case EXIT_REASON_GETSEC:
	case EXIT_REASON_INVD:
	case EXIT_REASON_XSETBV:
	case EXIT_REASON_VMCALL:
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMXOFF:
	case EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
		return true;

	/* 26.1.3 "Instructions That Cause VM Exits Conditionally". */
	case EXIT_REASON_VMREAD:
		return vmcs_access_exits(c, e, false);
	case EXIT_REASON_VMWRITE:
		return vmcs_access_exits(c, e, true);
	case EXIT_REASON_HLT:
		return ctl & CPU_BASED_HLT_EXITING;
	case EXIT_REASON_INVLPG:
		return ctl & CPU_BASED_INVLPG_EXITING;
	case EXIT_REASON_INVPCID:
		return (ctl & CPU_BASED_INVLPG_EXITING) && (sec & SECONDARY_ENABLE_INVPCID);
	case EXIT_REASON_RDPMC:
		return ctl & CPU_BASED_RDPMC_EXITING;
	case EXIT_REASON_RDTSC:
		return ctl & CPU_BASED_RDTSC_EXITING;
	case EXIT_REASON_RDTSCP:
		return (ctl & CPU_BASED_RDTSC_EXITING) && (sec & SECONDARY_ENABLE_RDTSCP);
	case EXIT_REASON_MWAIT:
		return ctl & CPU_BASED_MWAIT_EXITING;
	case EXIT_REASON_MONITOR:
		return ctl & CPU_BASED_MONITOR_EXITING;
	case EXIT_REASON_PAUSE:
		return ctl & CPU_BASED_PAUSE_EXITING;  /* PAUSE-loop exiting not offered */
	case EXIT_REASON_CR_ACCESS:
		return cr_access_exits(v, e);
	case EXIT_REASON_DR_ACCESS:
		return ctl & CPU_BASED_MOV_DR_EXITING;
	case EXIT_REASON_IO_INSTRUCTION: {
		struct io_access io = io_access_decode(e->qualification);

		return nested_io_exits(c, io.port, io.size);
	}
	case EXIT_REASON_RDMSR:
		return nested_msr_exits(c, e->msr, false);
	case EXIT_REASON_WRMSR:
		return nested_msr_exits(c, e->msr, true);
	case EXIT_REASON_WBINVD:
		return sec & SECONDARY_WBINVD_EXITING;
	case EXIT_REASON_GDTR_IDTR:
	case EXIT_REASON_LDTR_TR:
		return sec & SECONDARY_DESC_TABLE_EXITING;
	case EXIT_REASON_RDRAND:
		return sec & SECONDARY_RDRAND_EXITING;
	case EXIT_REASON_RDSEED:
		return sec & SECONDARY_RDSEED_EXITING;
	case EXIT_REASON_XSAVES:
	case EXIT_REASON_XRSTORS:
		/* Any bit set in EDX:EAX & IA32_XSS & XSS-exiting bitmap. */
		return (sec & SECONDARY_ENABLE_XSAVES) &&
		       (e->edx_eax & e->ia32_xss & v->xss_exit_bitmap);

	/* L0's own: EPT violations and misconfigurations (EPT01's or EPT02's;
	 * when L1 uses EPT, nested_ept.c decides before this is asked and
	 * reflects what EPT12 forbids), controls not offered to L1
	 * (MTF, APIC virtualization, VMFUNC, ENCLS, user wait), PML's
	 * log-full exit (VMCS02 never enables PML: L0 emulates L1's and
	 * raises reason 62 itself, nested_ept.c), SMIs and RSM, and
	 * VM-entry failures (33, 34, 41), which the nested entry code turns
	 * into the entry failure L1 sees. */
	default:
		return false;
	}
}
