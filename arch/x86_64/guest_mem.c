/* The guest's view of physical memory: EPT maps the machine 1:1, except
 * the monitor's own memory, which is not present. A guest access there
 * exits (EPT violation); the monitor logs it and backs that page with a
 * sink page so the guest goes on: reads see the sink's filler, never
 * monitor data, and writes land in the sink. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <exit_reason.h>
#include <guest_state.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

#define SINK_FILLER 0xff /* what reads of the monitor's memory return */
#define MAX_ACCESS_LOGS 16

static void *ept_alloc_page(void *ctx, u64 *pa)
{
	(void)ctx;
	void *p = pfa_alloc();
	*pa = (u64)p;
	return p;
}

static void *ept_phys_to_virt(void *ctx, u64 pa)
{
	(void)ctx;
	return (void *)pa; /* the monitor's page tables are 1:1 */
}

int ept_setup(struct vcpu *v, const struct nv_bootinfo *bi)
{
	const struct ept_mem_ops ops = { ept_alloc_page, ept_phys_to_virt, NULL };
	bool has_1g = vmx_caps.ept_vpid & BIT(17); /* EPT 1-GByte pages */

	if (ept_init(&v->ept, &ops, has_1g) ||
	    ept_build_identity(&v->ept, bi->mem, bi->mem_range_count, phys_limit(bi),
			       vmm.mon_base, vmm.mon_size)) {
		pr_err("out of memory building EPT");
		return NV_E_NOMEM;
	}
	v->sink_page = pfa_alloc();
	if (!v->sink_page)
		return NV_E_NOMEM;
	memset(v->sink_page, SINK_FILLER, PAGE_SIZE);
	pr_info("EPT: guest-physical 0-%lx identity, monitor %lx-%lx not present",
		phys_limit(bi) - 1, vmm.mon_base, vmm.mon_base + vmm.mon_size - 1);
	return 0;
}

/* INVEPT, single-context (SDM 31.3 "INVEPT"): after a mapping changes. */
void ept_invalidate(struct vcpu *v)
{
	struct { u64 eptp, reserved; } desc = { ept_eptp(&v->ept), 0 };
	u64 type = 1; /* single-context */
	u8 fail;
	asm volatile("invept %1, %2; setbe %0" : "=qm"(fail) : "m"(desc), "r"(type) : "cc", "memory");
	if (fail)
		panic("INVEPT failed");
}

/* The guest resumes where the violation stopped it, so what the violation
 * interrupted must be put back: an event being delivered is delivered
 * again (SDM 28.2.4 "Information for VM Exits During Event Delivery"),
 * and the NMI blocking an IRET had removed is restored (SDM 28.2.3
 * "Information About NMI Unblocking Due to IRET"; the bit is undefined
 * with NMI exiting but no virtual NMIs, or during event delivery). */
void ept_violation_restore_events(void)
{
	struct ept_violation e = ept_violation_decode(vmcs_read(EXIT_QUALIFICATION));
	u32 pin = (u32)vmcs_read(PIN_BASED_VM_EXEC_CONTROL);

	if (guest_reinject_interrupted_event())
		return;
	if (e.nmi_unblocking && (!(pin & PIN_BASED_NMI_EXITING) || (pin & PIN_BASED_VIRTUAL_NMIS))) {
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO,
			   vmcs_read(GUEST_INTERRUPTIBILITY_INFO) | GUEST_INTR_STATE_NMI);
	}
}

void exit_ept_violation(struct vcpu *v)
{
	u64 gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	struct ept_violation e = ept_violation_decode(vmcs_read(EXIT_QUALIFICATION));
	u64 page = ALIGN_DOWN(gpa, PAGE_SIZE);

	ept_violation_restore_events();

	/* A write to a bitmap page L0 watches for L1 (nested/bitmap_watch.c). */
	if (nested_watch_ept01_write(v, gpa, e.write))
		return;
	if (!vmm_gpa_in_monitor(gpa, 1)) {
		/* Past the identity map (e.g. a device placed high): map it
		 * uncached, 1:1, as the rest of the MMIO space. */
		if (gpa >> 48)
			guest_report_and_stop("guest-physical address beyond 48 bits");
		/* A whole 1-GiB (or 2-MiB) region at once: a guest touching
		 * one page per region cannot exhaust the monitor's memory. */
		u64 granule = v->ept.has_1g ? PAGE_SIZE_1G : PAGE_SIZE_2M;
		u64 base = ALIGN_DOWN(gpa, granule);
		if (vmm_gpa_in_monitor(base, granule))
			base = page, granule = PAGE_SIZE;
		if (ept_map(&v->ept, base, base, granule, EPT_RWX, EPT_MT_UC))
			guest_report_and_stop("out of monitor memory for EPT");
		ept_invalidate(v);
		return;
	}
	if (v->monitor_access_logs < MAX_ACCESS_LOGS) {
		v->monitor_access_logs++;
		pr_info("guest %s of monitor memory at %lx (rip %lx): refused, sink page mapped",
			e.exec ? "instruction fetch" : e.write ? "write" : "read", gpa,
			vmcs_read(GUEST_RIP));
	}
	if (e.exec)
		guest_report_and_stop("guest executes in monitor memory");
	if (ept_map(&v->ept, page, (u64)v->sink_page, PAGE_SIZE, EPT_R | EPT_W, EPT_MT_WB))
		panic("out of memory for EPT");
	ept_invalidate(v);
}
