/* hctest: checks the monitor from inside its guest, at CPL 0 in VMX
 * non-root operation, and reports one line per check on the serial port:
 *   hctest: PASS <name>  |  hctest: FAIL <name>: <expected, got>
 * then "hctest: <N> passed, <M> failed", then ends the run with
 * NV_HC_END_RUN (status 0 if all passed, 1 otherwise).
 *
 * It expects the monitor configured with "nested = no": VMX is hidden
 * from the guest (CPUID, IA32_FEATURE_CONTROL, VMX MSRs, CR4.VMXE, VMXON).
 * Without a monitor (bare QEMU or Bochs) the checks fail, and VMCALL's #UD
 * is caught and reported instead of crashing. */
#include <efi.h>
#include <efilib.h>
#include "hctest.h"

static u32 hct_passed, hct_failed;
u64 hct_cpuid_count;
volatile u64 hct_fault_recover;
volatile u32 hct_fault_vector = HCT_NO_FAULT;
volatile u64 hct_fault_error;
volatile u64 hct_fault_rip;

/* ---- serial: the 16550 at 0x3f8, polled (the firmware set it up) ---- */

#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE BIT(5)
#define UART_LSR_TEMT BIT(6)

static void hct_putc(char ch)
{
	/* Bounded wait: a missing UART must not hang the test. */
	for (u32 i = 0; i < 100000; i++)
		if (hct_inb(HCT_SERIAL_PORT + UART_LSR) & UART_LSR_THRE)
			break;
	hct_outb(HCT_SERIAL_PORT + UART_THR, (u8)ch);
}

/* A small vsnprintf: %s %c %d %u %x %p, 'l' for 64 bits. */
static u32 hct_vformat(char *buf, u32 cap, const char *fmt, va_list ap)
{
	u32 n = 0;
	/* 'ch' is evaluated once, whether it fits or not (it may be tmp[--t]). */
#define EMIT(ch) do { char ch_ = (ch); if (n + 1 < cap) buf[n] = ch_; n++; } while (0)
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			EMIT(*fmt);
			continue;
		}
		bool is_long = false;
		if (*++fmt == 'l') {
			is_long = true;
			fmt++;
		}
		u64 v;
		char tmp[24];
		int t = 0, base = 10;
		switch (*fmt) {
		case 's':
			for (const char *s = va_arg(ap, const char *); *s; s++)
				EMIT(*s);
			continue;
		case 'c':
			EMIT((char)va_arg(ap, int));
			continue;
		case 'd': {
			s64 sv = is_long ? va_arg(ap, s64) : va_arg(ap, int);
			if (sv < 0) {
				EMIT('-');
				sv = -sv;
			}
			v = (u64)sv;
			break;
		}
		case 'p':
			v = (u64)va_arg(ap, void *);
			base = 16;
			break;
		case 'x':
			base = 16;
			/* fall through */
		case 'u':
			v = is_long ? va_arg(ap, u64) : va_arg(ap, u32);
			break;
		default:
			EMIT('%');
			EMIT(*fmt);
			continue;
		}
		if (base == 16) {
			EMIT('0');
			EMIT('x');
		}
		do {
			tmp[t++] = "0123456789abcdef"[v % base];
			v /= base;
		} while (v);
		while (t)
			EMIT(tmp[--t]);
	}
#undef EMIT
	if (cap)
		buf[n < cap ? n : cap - 1] = 0;
	return n < cap ? n : cap - 1;
}

void hct_printf(const char *fmt, ...)
{
	char buf[320];
	va_list ap;

	va_start(ap, fmt);
	hct_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (const char *s = buf; *s; s++)
		hct_putc(*s);
}

/* ---- checks ---- */

void hct_begin(struct hct_check *c, const char *name)
{
	c->name = name;
	c->failed = false;
	c->full = false;
	c->len = 0;
	c->why[0] = 0;
}

bool hct_expect(struct hct_check *c, bool ok, const char *fmt, ...)
{
	static const char more[] = "; ...";
	char msg[sizeof(c->why) - sizeof(more)];
	va_list ap;
	u32 n;

	if (ok)
		return true;
	c->failed = true;
	va_start(ap, fmt);
	n = hct_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Whole reasons only: what does not fit becomes one "; ...". */
	if (c->full)
		return false;
	if (c->len && c->len + 2 + n + sizeof(more) > sizeof(c->why)) {
		CopyMem(c->why + c->len, (void *)more, sizeof(more));
		c->len += sizeof(more) - 1;
		c->full = true;
		return false;
	}
	if (c->len) {
		c->why[c->len++] = ';';
		c->why[c->len++] = ' ';
	}
	CopyMem(c->why + c->len, msg, n + 1);
	c->len += n;
	return false;
}

void hct_end(struct hct_check *c)
{
	if (c->failed) {
		hct_failed++;
		hct_printf("hctest: FAIL %s: %s\n", c->name, c->why);
	} else {
		hct_passed++;
		hct_printf("hctest: PASS %s\n", c->name);
	}
}

void hct_skip(const char *name, const char *why)
{
	hct_printf("hctest: SKIP %s: %s\n", name, why);
}

const char *hct_vector_name(u32 vec)
{
	switch (vec) {
	case VEC_UD: return "#UD";
	case VEC_GP: return "#GP";
	case VEC_PF: return "#PF";
	case HCT_NO_FAULT: return "no fault";
	default: return "a fault";
	}
}

/* ---- CPU access ---- */

void hct_cpuid(u32 leaf, u32 sub, u32 r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(sub));
	hct_cpuid_count++;
}

/* Each guarded instruction registers label 1 as its recovery address. */
#define HCT_GUARD_BEGIN \
	"leaq 1f(%%rip), %%r11\n\tmovq %%r11, hct_fault_recover(%%rip)\n\t"
#define HCT_GUARD_END "\n1:\n\tmovq $0, hct_fault_recover(%%rip)"

u32 hct_rdmsr_safe(u32 msr, u64 *val)
{
	u32 lo = 0, hi = 0;

	hct_fault_vector = HCT_NO_FAULT;
	asm volatile(HCT_GUARD_BEGIN "rdmsr" HCT_GUARD_END
		     : "+a"(lo), "+d"(hi) : "c"(msr) : "r11", "memory");
	*val = hct_fault_vector == HCT_NO_FAULT ? ((u64)hi << 32 | lo) : 0;
	return hct_fault_vector;
}

u32 hct_wrmsr_safe(u32 msr, u64 val)
{
	hct_fault_vector = HCT_NO_FAULT;
	asm volatile(HCT_GUARD_BEGIN "wrmsr" HCT_GUARD_END
		     : : "c"(msr), "a"((u32)val), "d"((u32)(val >> 32))
		     : "r11", "memory");
	return hct_fault_vector;
}

u32 hct_write_cr4_safe(u64 val)
{
	hct_fault_vector = HCT_NO_FAULT;
	asm volatile(HCT_GUARD_BEGIN "mov %0, %%cr4" HCT_GUARD_END
		     : : "r"(val) : "r11", "memory");
	return hct_fault_vector;
}

u32 hct_vmxon_safe(u64 *region_pa)
{
	hct_fault_vector = HCT_NO_FAULT;
	asm volatile(HCT_GUARD_BEGIN "vmxon %0" HCT_GUARD_END
		     : : "m"(*region_pa) : "r11", "cc", "memory");
	return hct_fault_vector;
}

u32 hct_read64_safe(u64 addr, u64 *val)
{
	u64 v = 0;

	hct_fault_vector = HCT_NO_FAULT;
	asm volatile(HCT_GUARD_BEGIN "movq (%1), %0" HCT_GUARD_END
		     : "+r"(v) : "r"(addr) : "r11", "memory");
	*val = v;
	return hct_fault_vector;
}

u32 hct_write64_safe(u64 addr, u64 val)
{
	hct_fault_vector = HCT_NO_FAULT;
	asm volatile(HCT_GUARD_BEGIN "movq %1, (%0)" HCT_GUARD_END
		     : : "r"(addr), "r"(val) : "r11", "memory");
	return hct_fault_vector;
}

s64 hct_hypercall(u64 fn, u64 *rbx, u64 *rcx, u64 *rdx)
{
	struct hct_regs r = {
		.rax = fn,
		.rbx = rbx ? *rbx : 0,
		.rcx = rcx ? *rcx : 0,
		.rdx = rdx ? *rdx : 0,
	};

	hct_fault_vector = HCT_NO_FAULT;
	hct_vmcall_regs(&r);
	if (hct_fault_vector != HCT_NO_FAULT)
		return (s64)HCT_HC_FAULTED;
	if (rbx)
		*rbx = r.rbx;
	if (rcx)
		*rcx = r.rcx;
	if (rdx)
		*rdx = r.rdx;
	return (s64)r.rax;
}

/* 64-bit interrupt gate (SDM Vol. 3A, 6.14.1 "64-Bit Mode IDT"). */
void hct_set_gate(void *idt, int vec, void (*fn)(void), u16 cs, int dpl)
{
	u64 *g = (u64 *)idt + 2 * vec;
	u64 off = (u64)fn;

	g[0] = (off & 0xffff) | (u64)cs << 16 | (u64)(0x8e | dpl << 5) << 40 |
	       (off >> 16 & 0xffff) << 48;
	g[1] = off >> 32;
}

/* ---- end of the run ---- */

static __attribute__((noreturn)) void hct_end_run(u32 status)
{
	u64 rbx = status;
	s64 ret = hct_hypercall(NV_HC_END_RUN, &rbx, NULL, NULL);

	if (ret == (s64)HCT_HC_FAULTED)
		hct_printf("hctest: FAIL end-run: NV_HC_END_RUN raised %s\n",
			   hct_vector_name(hct_fault_vector));
	else
		hct_printf("hctest: FAIL end-run: NV_HC_END_RUN returned %ld\n", ret);
	/* Let the UART send the last line, then: Bochs quits on "Shutdown"
	 * at 0x8900, QEMU on isa-debug-exit. */
	for (u32 i = 0; i < 1000000; i++)
		if (hct_inb(HCT_SERIAL_PORT + UART_LSR) & UART_LSR_TEMT)
			break;
	for (const char *s = "Shutdown"; *s; s++)
		hct_outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	hct_outb(NV_DEBUG_EXIT_PORT, 1);
	for (;;)
		asm volatile("cli; hlt");
}

void hct_unexpected_fault(u64 vector, u64 error, u64 rip)
{
	hct_failed++;
	hct_printf("hctest: FAIL unexpected-fault: vector %lu error %lx at rip %lx\n",
		   vector, error, rip);
	hct_printf("hctest: %u passed, %u failed\n", hct_passed, hct_failed);
	hct_end_run(1);
}

/* ---- firmware services, used before interrupts go off ---- */

static void hct_find_table(struct hct_env *env, EFI_SYSTEM_TABLE *st)
{
	EFI_GUID guid = NV_EFI_TABLE_GUID;

	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];
		if (CompareMem(&t->VendorGuid, &guid, sizeof(guid)) == 0) {
			CopyMem(&env->table, t->VendorTable, sizeof(env->table));
			env->have_table = true;
		}
	}
}

static EFI_STATUS hct_get_memmap(struct hct_env *env, EFI_BOOT_SERVICES *bs)
{
	UINTN size = 0, key, dsize;
	UINT32 dver;
	EFI_STATUS s;

	uefi_call_wrapper(bs->GetMemoryMap, 5, &size, NULL, &key, &dsize, &dver);
	size += 16 * sizeof(EFI_MEMORY_DESCRIPTOR);
	s = uefi_call_wrapper(bs->AllocatePool, 3, EfiLoaderData, size, &env->memmap);
	if (EFI_ERROR(s))
		return s;
	s = uefi_call_wrapper(bs->GetMemoryMap, 5, &size, env->memmap, &key,
			      &dsize, &dver);
	env->memmap_size = size;
	env->memmap_desc_size = dsize;
	return s;
}

/* RAM: any memory-map range that is neither MMIO nor unusable. */
bool hct_is_ram(const struct hct_env *env, u64 addr, u64 size)
{
	for (u64 off = 0; off + env->memmap_desc_size <= env->memmap_size;
	     off += env->memmap_desc_size) {
		EFI_MEMORY_DESCRIPTOR *d = (void *)((u8 *)env->memmap + off);
		u64 end = d->PhysicalStart + d->NumberOfPages * PAGE_SIZE;
		if (d->Type == EfiMemoryMappedIO || d->Type == EfiMemoryMappedIOPortSpace ||
		    d->Type == EfiUnusableMemory)
			continue;
		if (addr >= d->PhysicalStart && addr + size <= end)
			return true;
	}
	return false;
}

void hct_checks_cpuid(struct hct_env *env)
{
	struct hct_check c;
	u32 r[4];

	(void)env;
	hct_begin(&c, "cpuid-leaf1");
	hct_cpuid(1, 0, r);
	hct_expect(&c, r[2] & CPUID_1_ECX_HYPERVISOR,
		   "ECX.hypervisor[31] expected 1, ECX=%x", r[2]);
	hct_expect(&c, !(r[2] & CPUID_1_ECX_VMX), "ECX.VMX[5] expected 0, ECX=%x", r[2]);
	hct_end(&c);

	hct_begin(&c, "cpuid-signature");
	hct_cpuid(NV_CPUID_BASE, 0, r);
	hct_expect(&c, r[0] >= NV_CPUID_MAX_LEAF, "EAX expected >= %x, got %x",
		   NV_CPUID_MAX_LEAF, r[0]);
	char sig[13];
	CopyMem(sig, &r[1], 4);
	CopyMem(sig + 4, &r[2], 4);
	CopyMem(sig + 8, &r[3], 4);
	for (int i = 0; i < 12; i++)
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '.';
	sig[12] = 0;
	hct_expect(&c, r[1] == NV_CPUID_SIG_EBX && r[2] == NV_CPUID_SIG_ECX &&
		   r[3] == NV_CPUID_SIG_EDX,
		   "EBX:ECX:EDX expected \"NestVisorVMM\", got \"%s\"", sig);
	hct_end(&c);

	hct_begin(&c, "cpuid-version");
	hct_cpuid(NV_CPUID_MAX_LEAF, 0, r);
	hct_expect(&c, r[0] == NV_VERSION, "EAX expected %x, got %x", NV_VERSION, r[0]);
	hct_end(&c);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	static struct hct_env env;
	EFI_PHYSICAL_ADDRESS pages = 0;
	struct hct_dtr idtr;
	EFI_STATUS s;
	u16 cs;

	(void)image;
	hct_printf("hctest: start\n");
	hct_find_table(&env, st);
	s = hct_get_memmap(&env, st->BootServices);
	if (!EFI_ERROR(s))
		s = uefi_call_wrapper(st->BootServices->AllocatePages, 4,
				      AllocateAnyPages, EfiLoaderCode, HCT_PAGES, &pages);
	if (EFI_ERROR(s)) {
		hct_printf("hctest: FAIL setup: memory map or AllocatePages: status %lx\n", s);
		hct_printf("hctest: 0 passed, 1 failed\n");
		hct_end_run(1);
	}
	env.pages = (u8 *)pages;
	SetMem(env.pages, HCT_PAGES * PAGE_SIZE, 0);

	/* From here on no firmware code runs: interrupts stay off, and our
	 * own IDT (the firmware's with our exception handlers) catches faults. */
	asm volatile("cli");
	asm volatile("sidt %0" : "=m"(idtr));
	asm volatile("mov %%cs, %0" : "=r"(cs));
	env.fw_idt_base = idtr.base;
	env.fw_idt_limit = idtr.limit;
	env.cs = cs;
	u8 *idt = hct_page(&env, HCT_PG_IDT);
	CopyMem(idt, (void *)idtr.base, idtr.limit + 1u < PAGE_SIZE ? idtr.limit + 1u : PAGE_SIZE);
	for (int vec = 0; vec < HCT_EXCEPTIONS; vec++)
		hct_set_gate(idt, vec, hct_isr_table[vec], cs, 0);
	struct hct_dtr mine = { .limit = PAGE_SIZE - 1, .base = (u64)idt };
	asm volatile("lidt %0" : : "m"(mine));
	hct_printf("hctest: monitor table %s", env.have_table ? "found:" : "not found\n");
	if (env.have_table)
		hct_printf(" base %lx size %lx\n", env.table.monitor_base,
			   env.table.monitor_size);

	hct_checks_cpuid(&env);
	hct_checks_hypercall(&env);
	hct_checks_ring3(&env);
	hct_checks_vmx_hidden(&env);
	hct_checks_monitor_memory(&env);

	hct_printf("hctest: %u passed, %u failed\n", hct_passed, hct_failed);
	/* Our IDT stays: if END_RUN faults (no monitor), we still report. */
	hct_end_run(hct_failed ? 1 : 0);
}
