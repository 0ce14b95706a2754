/* Hypercalls: VMCALL from guest ring 0 (docs/hypercalls.md). */
#include "vmm.h"
#include "log.h"
#include "lib.h"
#include "trace.h"

bool vmm_gpa_in_monitor(u64 gpa, u64 size)
{
	return gpa < vmm.mon_base + vmm.mon_size && gpa + size > vmm.mon_base;
}

bool vmm_gpa_is_guest_ram(u64 gpa, u64 size)
{
	const struct nv_bootinfo *bi = vmm.bi;

	if (size == 0 || gpa + size < gpa || vmm_gpa_in_monitor(gpa, size))
		return false;
	for (u32 i = 0; i < bi->mem_range_count; i++) {
		const struct nv_mem_range *m = &bi->mem[i];
		if (m->type != NV_MEM_MMIO && gpa >= m->base && gpa + size <= m->base + m->size)
			return true;
	}
	return false;
}

static s64 hc_exit_stats(u64 gpa, u64 size)
{
	if (size < sizeof(struct nv_exit_stats))
		return NV_HC_EINVAL;
	if (!vmm_gpa_is_guest_ram(gpa, sizeof(struct nv_exit_stats)))
		return NV_HC_EFAULT;
	/* EPT maps guest RAM 1:1, and the monitor's page tables map all of
	 * it: the guest-physical address is the host address. */
	stats_fill((struct nv_exit_stats *)gpa);
	return NV_HC_OK;
}

void hypercall_dispatch(struct hc_regs *r, int cpl)
{
	s64 ret;

	if (cpl != 0) {
		r->rax = (u64)(s64)NV_HC_EPERM;
		return;
	}
	switch (r->rax) {
	case NV_HC_VERSION:
		r->rbx = NV_VERSION;
		r->rcx = NV_HC_VERSION_MAGIC;
		ret = NV_HC_OK;
		break;
	case NV_HC_EXIT_COUNT:
		if (r->rbx >= NV_EXIT_REASONS) {
			ret = NV_HC_EINVAL;
			break;
		}
		r->rbx = stats_l1((u32)r->rbx);
		ret = NV_HC_OK;
		break;
	case NV_HC_EXIT_STATS:
		ret = hc_exit_stats(r->rbx, r->rcx);
		break;
	case NV_HC_TRACE_DUMP: {
		s64 n = trace_dump_log(r->rbx > 0xffffffff ? 0 : (u32)r->rbx);
		if (n < 0) {
			ret = NV_HC_EOPNOTSUPP;
			break;
		}
		r->rbx = (u64)n;
		ret = NV_HC_OK;
		break;
	}
	case NV_HC_END_RUN:
		pr_info("guest ended the run (hypercall), status %lu", r->rbx);
		vmm_end_run((u32)r->rbx);
	default:
		ret = NV_HC_ENOSYS;
		break;
	}
	r->rax = (u64)ret;
}
