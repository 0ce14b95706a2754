# nestvisor: one Makefile for the loader, the monitor, the test guests, the
# guest images and every test tier. `make help` lists the targets.

BUILD   ?= build
Q       ?= @
CC      := gcc
LD      := ld
NASM    := nasm
OBJCOPY := objcopy

# ---------------------------------------------------------------------------
# Debian packages the build and the tests use; `make deps` installs them.
DEPS_STAMP := $(BUILD)/.deps-ok
.PHONY: deps
deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/install-deps.sh
	$(Q)tools/install-deps.sh
	$(Q)mkdir -p $(BUILD) && touch $@

# ---------------------------------------------------------------------------
# The monitor: a freestanding position-independent ELF loaded by the loader.
# -mgeneral-regs-only: the monitor never touches x87/SSE/AVX state, which
# belongs to the guest and is not saved on VM exit.
MON_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding \
	-fno-builtin -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
	-mno-red-zone -mgeneral-regs-only -fpie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fvisibility=hidden -fno-common \
	-Iinclude -Ivmm -Iarch/x86_64/include -Iarch/x86_64 -Idrivers -MMD -MP
MON_LDFLAGS := -nostdlib -pie --no-dynamic-linker -z text -z max-page-size=4096 \
	-T linker.ld

# Nested VMX (arch/x86_64/nested/): pure modules first, then the monitor's.
NESTED_C := \
	arch/x86_64/nested/vmcs12.c arch/x86_64/nested/caps.c \
	arch/x86_64/nested/operand.c arch/x86_64/nested/guest_walk.c \
	arch/x86_64/nested/reflect.c arch/x86_64/nested/entry_checks.c \
	arch/x86_64/nested/entry_checks_ctl.c arch/x86_64/nested/entry_checks_host.c \
	arch/x86_64/nested/entry_checks_guest.c arch/x86_64/nested/entry_checks_seg.c \
	arch/x86_64/nested/nested.c arch/x86_64/nested/vmx_insn.c \
	arch/x86_64/nested/guest_access.c arch/x86_64/nested/vmcs02.c \
	arch/x86_64/nested/nested_entry.c arch/x86_64/nested/nested_exit.c \
	arch/x86_64/nested/shadow.c arch/x86_64/nested/shadow12.c \
	arch/x86_64/nested/preempt.c arch/x86_64/nested/bitmap_watch.c \
	arch/x86_64/nested/ept12.c \
	arch/x86_64/nested/nested_ept.c

MON_C := \
	vmm/main.c vmm/lib.c vmm/log.c vmm/panic.c vmm/pfa.c vmm/stats.c \
	vmm/hypercall.c vmm/trace.c vmm/trace_ring.c \
	arch/x86_64/host.c arch/x86_64/vmx.c \
	arch/x86_64/vmcs_setup.c arch/x86_64/exit.c arch/x86_64/exit_cpuid.c \
	arch/x86_64/exit_msr.c arch/x86_64/exit_cr.c arch/x86_64/exit_misc.c \
	arch/x86_64/ept.c arch/x86_64/exit_reason.c arch/x86_64/cpuid_policy.c \
	arch/x86_64/msr_policy.c arch/x86_64/l1d.c arch/x86_64/guest_mem.c arch/x86_64/guest_state.c \
	$(NESTED_C) \
	drivers/serial.c
MON_ASM := arch/x86_64/entry.asm arch/x86_64/idt.asm
MON_OBJ := $(MON_C:%.c=$(BUILD)/mon/%.o) $(MON_ASM:%.asm=$(BUILD)/mon/%.o)
MONITOR := $(BUILD)/nestvisor.elf

$(BUILD)/mon/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(MON_CFLAGS) -c $< -o $@

$(BUILD)/mon/%.o: %.asm
	@mkdir -p $(dir $@)
	@echo "  NASM    $<"
	$(Q)$(NASM) -f elf64 -g -Iarch/x86_64/ -MD $(@:.o=.d) -MP -o $@ $<

$(MONITOR): $(MON_OBJ) linker.ld
	@echo "  LD      $@"
	$(Q)$(LD) $(MON_LDFLAGS) -o $@ $(MON_OBJ)
	$(Q)tools/check-monitor-elf.sh $@
	$(Q)tools/check-layering.sh $(BUILD)/mon

.PHONY: monitor
monitor: $(MONITOR)

# ---------------------------------------------------------------------------
# UEFI applications (the loader, ring-0 test guests) with Debian's gnu-efi.
EFI_INC  := /usr/include/efi
EFI_LIB  := /usr/lib
EFI_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -fpic -ffreestanding \
	-fno-stack-protector -fno-stack-check -fshort-wchar -mno-red-zone \
	-maccumulate-outgoing-args -DEFI_FUNCTION_WRAPPER \
	-I$(EFI_INC) -I$(EFI_INC)/x86_64 -Iinclude -Iboot -MMD -MP
EFI_LDFLAGS := -nostdlib -shared -Bsymbolic -znocombreloc \
	-T $(EFI_LIB)/elf_x86_64_efi.lds $(EFI_LIB)/crt0-efi-x86_64.o
EFI_LIBS := -L$(EFI_LIB) -lgnuefi -lefi
EFI_SECTIONS := -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym \
	-j .rel -j .rela -j .rel.* -j .rela.* -j .reloc

$(BUILD)/efi/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/efi/%.o: %.asm
	@mkdir -p $(dir $@)
	@echo "  NASM    $<"
	$(Q)$(NASM) -f elf64 -MD $(@:.o=.d) -MP -o $@ $<

%.efi: %.so
	@echo "  OBJCOPY $@"
	$(Q)$(OBJCOPY) $(EFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $< $@

LOADER_C := boot/main.c boot/console.c boot/fs.c boot/config.c \
	boot/vmx_check.c boot/memory.c boot/elf.c boot/monitor.c boot/guest.c
LOADER_ASM := boot/launch.asm
LOADER_OBJ := $(LOADER_C:%.c=$(BUILD)/efi/%.o) $(LOADER_ASM:%.asm=$(BUILD)/efi/%.o)
LOADER := $(BUILD)/BOOTX64.efi

$(BUILD)/BOOTX64.so: $(LOADER_OBJ)
	@echo "  LD      $@"
	$(Q)$(LD) $(EFI_LDFLAGS) $^ -o $@ $(EFI_LIBS)

.PHONY: loader
loader: $(LOADER)

# Ring-0 test guests: EFI applications the loader starts in place of Linux.
GUESTS := hctest hello tfault vmxtest vmxfuzz vmxbench
GUEST_EFIS := $(GUESTS:%=$(BUILD)/guests/%.efi)
# The guests' shared library (tests/guests/lib/): serial output, reports,
# fault catching, hypercalls. The guests use the SDM names and the
# instruction wrappers in arch/x86_64/include.
GUEST_LIB := $(addprefix $(BUILD)/efi/tests/guests/lib/, \
	serial.o report.o faults.o faults_asm.o nestvisor.o hypercall.o)
$(BUILD)/efi/tests/guests/%.o: EFI_CFLAGS += -Iarch/x86_64/include
VMXTEST_LIB := $(GUEST_LIB) $(addprefix $(BUILD)/efi/tests/guests/, \
	vmxtest_cpu.o vmxtest_vmcs.o vmxtest_asm.o)
$(BUILD)/guests/vmxtest.so: $(VMXTEST_LIB) $(addprefix $(BUILD)/efi/tests/guests/, \
	vmxtest_insn.o vmxtest_l2.o vmxtest_events.o vmxtest_ept.o \
	vmxtest_shadow.o vmxtest_timer.o vmxtest_addr.o vmxtest_bitmaps.o vmxtest_pml.o)
$(BUILD)/guests/vmxfuzz.so: $(VMXTEST_LIB) $(addprefix $(BUILD)/efi/tests/guests/, \
	vmxfuzz_launch.o vmxfuzz_l2.o vmxfuzz_bitmaps.o vmxfuzz_shadow.o)
# vmxbench (docs/benchmarks.md): vmxtest's library and its timed loops.
$(BUILD)/guests/vmxbench.so: $(VMXTEST_LIB) $(BUILD)/efi/tests/guests/vmxbench_asm.o
# A fixed fuzz seed (default: RDTSC): make -B build/guests/vmxfuzz.efi VMXFUZZ_SEED=n
$(BUILD)/efi/tests/guests/vmxfuzz.o: EFI_CFLAGS += $(if $(VMXFUZZ_SEED),-DVMXFUZZ_SEED=$(VMXFUZZ_SEED)ULL)
$(BUILD)/guests/hello.so $(BUILD)/guests/tfault.so: $(BUILD)/efi/tests/guests/lib/serial.o
# hctest's other objects (the pattern rule below links $^).
$(BUILD)/guests/hctest.so: $(GUEST_LIB) $(addprefix $(BUILD)/efi/tests/guests/, \
	hctest_hc.o hctest_vmx.o hctest_ring3.o hctest_asm.o)

$(BUILD)/guests/%.so: $(BUILD)/efi/tests/guests/%.o
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(LD) $(EFI_LDFLAGS) $^ -o $@ $(EFI_LIBS)

.PHONY: guests
guests: $(GUEST_EFIS)

# ---------------------------------------------------------------------------
# Linux as L1: Debian's cloud kernel and a busybox initramfs.
LINUX_DIR := $(BUILD)/linux
VMLINUZ   := $(LINUX_DIR)/vmlinuz
INITRD    := $(LINUX_DIR)/initrd.img

$(VMLINUZ): tools/get-kernel.sh | $(DEPS_STAMP)
	$(Q)tools/get-kernel.sh $(LINUX_DIR)

L1_PROGS := $(BUILD)/l1/nvcheck $(BUILD)/l1/kvmtest
# KVM for L1 (nestvisor.test=kvm): get-kernel.sh extracts them with the kernel.
KVM_MODS := $(addprefix $(LINUX_DIR)/modules/,irqbypass.ko kvm.ko kvm-intel.ko)
$(KVM_MODS): $(VMLINUZ)
	$(Q)tools/get-kernel.sh $(LINUX_DIR)
$(BUILD)/l1/%: tests/l1/%.c include/nestvisor/hypercall.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) -static -O2 -Wall -Wextra -Werror -Iinclude -o $@ $<
# kvmtest and its timed mode (kvmtest --bench, make bench).
$(BUILD)/l1/kvmtest: tests/l1/kvmtest.c tests/l1/kvmtest_bench.c tests/l1/kvmtest.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) -static -O2 -Wall -Wextra -Werror -Iinclude -o $@ $(filter %.c,$^)

$(INITRD): tools/mkinitrd.sh tests/l1/init $(L1_PROGS) $(KVM_MODS) | $(DEPS_STAMP)
	$(Q)tools/mkinitrd.sh $@ tests/l1/init $(L1_PROGS) $(KVM_MODS)

# The L1 initramfs of the container chains (docs/l2-chains.md): the one
# above plus what L1 needs to run the container L2: tun.ko, Debian's QEMU
# (tools/mkqemu-tree.sh), the project's launcher (tools/nvlaunch/), L1's
# chain script, and L2's kernel and initramfs (tests/l2/) under /l2.
INITRD_L2  := $(LINUX_DIR)/initrd-l2.img
TUN_MOD    := $(LINUX_DIR)/modules/tun.ko
QEMU_TREE  := $(BUILD)/qemu-tree
NVLAUNCH   := $(BUILD)/l1/nvlaunch
L2_CRUN    := $(BUILD)/l2/initrd-crun.img
$(TUN_MOD): $(VMLINUZ)
	$(Q)tools/get-kernel.sh $(LINUX_DIR)
$(QEMU_TREE)/.done: tools/mkqemu-tree.sh | $(DEPS_STAMP)
	$(Q)tools/mkqemu-tree.sh $(QEMU_TREE) && touch $@
$(INITRD_L2): tools/mkinitrd.sh tests/l1/init tests/l1/l2chain $(L1_PROGS) $(NVLAUNCH) \
		$(KVM_MODS) $(TUN_MOD) $(QEMU_TREE)/.done $(VMLINUZ) $(L2_CRUN)
	$(Q)tools/mkinitrd.sh --zstd --tree $(QEMU_TREE) --file $(VMLINUZ):/l2/vmlinuz \
		--file $(L2_CRUN):/l2/initrd.img $@ tests/l1/init tests/l1/l2chain \
		$(L1_PROGS) $(NVLAUNCH) $(KVM_MODS) $(TUN_MOD)

# The L1 initramfs of the l3 tier (docs/l3.md): the usual L1 initramfs plus
# nvlaunch, l2chain and the KVM L2 (tests/l2/l2.mk), which runs L3.
INITRD_L3 := $(LINUX_DIR)/initrd-l3.img
L2_KVM    := $(BUILD)/l2/initrd-kvm.img
$(INITRD_L3): tools/mkinitrd.sh tests/l1/init tests/l1/l2chain $(L1_PROGS) $(NVLAUNCH) \
		$(KVM_MODS) $(VMLINUZ) $(L2_KVM)
	$(Q)tools/mkinitrd.sh --zstd --file $(VMLINUZ):/l2/vmlinuz --file $(L2_KVM):/l2/initrd.img \
		$@ tests/l1/init tests/l1/l2chain $(L1_PROGS) $(NVLAUNCH) $(KVM_MODS)

# ---------------------------------------------------------------------------
# Images.
IMG_DEMO := $(BUILD)/nestvisor.img
# The demonstration: L1 runs the container L2 with QEMU (docs/l2-chains.md).
$(IMG_DEMO): $(LOADER) $(MONITOR) $(VMLINUZ) $(INITRD_L2) tools/mkimage.sh
	$(Q)tools/mkimage.sh --loader $(LOADER) --monitor $(MONITOR) \
		--kernel $(VMLINUZ) --initrd $(INITRD_L2) \
		--cmdline "console=ttyS0,115200 quiet nestvisor.demo=1" \
		--debug-exit yes --out $@

.PHONY: all
all: $(LOADER) $(MONITOR) $(GUEST_EFIS)
.DEFAULT_GOAL := all

.PHONY: image
image: $(IMG_DEMO)

# QEMU/KVM when this host offers nested VT-x (vmx, /dev/kvm, kvm_intel
# nested=Y), else Bochs. Override: make run RUN_EMU=bochs|qemu-kvm
RUN_EMU ?= $(shell grep -qw vmx /proc/cpuinfo && [ -w /dev/kvm ] && \
	grep -qE 'Y|1' /sys/module/kvm_intel/parameters/nested 2>/dev/null && \
	echo qemu-kvm || echo bochs)
RUN_ARGS_bochs := --emulator bochs
RUN_ARGS_qemu-kvm := --emulator qemu --kvm

.PHONY: run
run: $(IMG_DEMO)
	$(Q)tools/run.sh $(RUN_ARGS_$(RUN_EMU)) --image $(IMG_DEMO) --timeout 1500 \
		--log $(BUILD)/run-serial.log --echo

# ---------------------------------------------------------------------------
# Tests. Tiers run cheapest first; each script prints "name: PASS|FAIL|SKIP"
# lines; tests/summary.sh turns them into the final "N passed, N failed".
UNIT_SRC := tests/unit/main.c tests/unit/test_config.c tests/unit/test_ept.c \
	tests/unit/ept_harness.c tests/unit/test_ept_identity.c \
	tests/unit/test_cpuid_policy.c tests/unit/test_msr_policy.c \
	tests/unit/test_exit_reason.c tests/unit/test_trace.c \
	tests/unit/test_vmcs12.c tests/unit/test_nested_caps.c \
	tests/unit/test_operand.c tests/unit/test_guest_walk.c tests/unit/test_reflect.c \
	tests/unit/test_entry_checks.c tests/unit/test_entry_checks_ctl.c \
	tests/unit/test_entry_checks_guest.c tests/unit/test_ept12.c tests/common/entry_vmcs12.c \
	boot/config.c vmm/trace_ring.c arch/x86_64/ept.c arch/x86_64/cpuid_policy.c \
	arch/x86_64/msr_policy.c arch/x86_64/exit_reason.c \
	arch/x86_64/nested/vmcs12.c arch/x86_64/nested/caps.c \
	arch/x86_64/nested/operand.c arch/x86_64/nested/guest_walk.c \
	arch/x86_64/nested/ept12.c arch/x86_64/nested/reflect.c arch/x86_64/nested/entry_checks.c \
	arch/x86_64/nested/entry_checks_ctl.c arch/x86_64/nested/entry_checks_host.c \
	arch/x86_64/nested/entry_checks_guest.c arch/x86_64/nested/entry_checks_seg.c
UNIT_HDR := $(wildcard tests/unit/*.h) $(wildcard tests/common/*.h) boot/config.h vmm/trace.h \
	$(wildcard include/nestvisor/*.h) arch/x86_64/include/ept.h \
	arch/x86_64/include/cpuid_policy.h arch/x86_64/include/msr_policy.h \
	arch/x86_64/include/msr.h arch/x86_64/include/exit_reason.h \
	arch/x86_64/include/vmcs.h arch/x86_64/include/vmx_caps.h \
	arch/x86_64/nested/vmcs12.h arch/x86_64/nested/vmcs12_fields.h \
	arch/x86_64/nested/caps.h arch/x86_64/nested/operand.h \
	arch/x86_64/nested/guest_walk.h arch/x86_64/nested/reflect.h \
	arch/x86_64/nested/entry_checks.h arch/x86_64/nested/entry_checks_int.h
UNIT_BIN := $(BUILD)/unit/run-unit
# Pieces with build rules of their own: the KVM launcher L1 runs (it adds
# its boot-protocol unit tests to UNIT_SRC) and the L2 images.
include tools/nvlaunch/nvlaunch.mk
include tests/l2/l2.mk
include tests/l2/docker/docker.mk
include tests/fuzz/fuzz.mk
$(UNIT_BIN): $(UNIT_SRC) $(UNIT_HDR) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -DNV_HOST_TEST \
		-Iinclude -Iboot -Ivmm -Iarch/x86_64/include -Iarch/x86_64 \
		-fsanitize=address,undefined -static-libasan -static-libubsan \
		-o $@ $(UNIT_SRC) -lcmocka

RESULTS := $(BUILD)/results

# A tier whose make fails before it wrote a FAIL line (say, a build error)
# still gets one, so a broken tier never looks like a passing one.
tier = $(MAKE) --no-print-directory test-$(1) || grep -qs '^FAIL ' $(RESULTS)/$(1).txt || \
	echo "FAIL $(1)/tier: make test-$(1) failed before its tests reported (see the make output)" | \
	tee -a $(RESULTS)/make.txt

# Build what a tier needs, each file on its own; a file that fails to build
# is removed so the tier reports it missing instead of using a stale one.
build_inputs = for f in $(1); do $(MAKE) -s --no-print-directory $$f || rm -f $$f; done

.PHONY: test test-unit test-bench-report test-trace-tool test-qemu test-bochs test-nested test-kvm test-kvm-l1 test-l2 test-l2img test-l2docker-bochs test-l3
# make test's tiers, cheapest first; each writes build/results/<tier>.txt
# and the summary ends with one line. About 30 min on two cores.
TEST_TIERS := unit fuzz bench-report trace-tool qemu l2img l2docker bochs nested kvm kvm-l1 l3 l2 l2docker-bochs
test: | $(DEPS_STAMP)
	$(Q)rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	-$(Q)for t in $(TEST_TIERS); do $(call tier,$$t); done
	$(Q)tests/summary.sh $(RESULTS)

test-unit: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(UNIT_BIN))
	$(Q)tests/run-unit.sh $(UNIT_BIN) $(RESULTS)/unit.txt

# make bench's report step (tools/bench.sh --report) on recorded logs, with
# mawk, busybox awk and gawk where installed (tests/bench/README.md).
test-bench-report: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	$(Q)tests/system/bench-report.sh $(RESULTS)/bench-report.txt

# tools/trace-svg.py on a recorded trace (tests/trace/README.md).
test-trace-tool: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	$(Q)tests/system/trace-tool.sh $(RESULTS)/trace-tool.txt

test-qemu: $(LOADER) $(GUEST_EFIS) $(VMLINUZ) $(INITRD)
	$(Q)mkdir -p $(RESULTS)
	$(Q)tests/system/qemu.sh $(BUILD) $(RESULTS)/qemu.txt

BOCHS_INPUTS := $(LOADER) $(MONITOR) $(GUEST_EFIS) $(VMLINUZ) $(INITRD)
test-bochs: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(BOCHS_INPUTS))
	$(Q)tests/system/bochs.sh $(BUILD) $(RESULTS)/bochs.txt

# The L1-hypervisor guests (vmxtest, vmxfuzz) on bare Bochs (the oracle)
# and on the monitor; docs/testing-nested.md. About 1 min.
test-nested: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(LOADER) $(MONITOR) $(BUILD)/guests/vmxtest.efi \
		$(BUILD)/guests/vmxfuzz.efi)
	$(Q)tests/system/nested.sh $(BUILD) $(RESULTS)/nested.txt

# Linux runs KVM and an L2 guest (kvmtest) on bare Bochs (the reference;
# NV_TEST_REFERENCE=0 skips it), then as L1 on the monitor: ~1 min each.
test-kvm-l1: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(LOADER) $(MONITOR) $(VMLINUZ) $(INITRD))
	$(Q)tests/system/kvm-l1.sh $(BUILD) $(RESULTS)/kvm-l1.txt

# The container chains (docs/l2-chains.md): L1 runs the crun L2 with QEMU,
# then with nvlaunch, on bare Bochs (the oracle) and on the monitor, side
# by side: about 10 min.
test-l2: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(LOADER) $(MONITOR) $(VMLINUZ) $(INITRD_L2))
	$(Q)tests/system/l2.sh $(BUILD) $(RESULTS)/l2.txt

# Three levels (docs/l3.md): L1's KVM runs an L2 Linux whose own KVM runs
# kvmtest's guest as L3; bare Bochs (the oracle) and the monitor side by
# side: about 4 min.
test-l3: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(LOADER) $(MONITOR) $(VMLINUZ) $(INITRD_L3))
	$(Q)tests/system/l3.sh $(BUILD) $(RESULTS)/l3.txt

# The Docker chain on Bochs (docs/l2-docker.md): dockerd in L2 under QEMU,
# the client in L1, bare Bochs and the monitor side by side: about 9 min.
test-l2docker-bochs: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(LOADER) $(MONITOR) $(VMLINUZ) $(INITRD_DOCKER))
	$(Q)tests/system/l2docker.sh $(BUILD) $(RESULTS)/l2docker-bochs.txt

# QEMU/KVM with nested VT-x: a SKIP line on hosts without it.
test-kvm: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)if grep -qw vmx /proc/cpuinfo; then \
		$(call build_inputs,$(LOADER) $(MONITOR) $(VMLINUZ) $(INITRD) $(INITRD_L2)); fi
	$(Q)tests/system/kvm.sh $(BUILD) $(RESULTS)/kvm.txt

# ---------------------------------------------------------------------------
# Benchmarks (not part of make test): vmxbench on bare Bochs and on the
# monitor, plus Linux's exit statistics, the container L2's boot time and
# Linux/KVM's three columns (single level, KVM as L0, nestvisor as L0)
# when their inputs build; the table goes to $(BUILD)/bench.txt.
# docs/benchmarks.md. About 35 min (NV_BENCH_KVM=0: about 12).
.PHONY: bench
bench: $(LOADER) $(MONITOR) $(BUILD)/guests/vmxbench.efi
	-$(Q)$(call build_inputs,$(VMLINUZ) $(INITRD) $(INITRD_L2) $(INITRD_L3))
	$(Q)tools/bench.sh $(BUILD)

# The exit trace (not part of make test): vmxbench under the monitor with
# trace = on on Bochs, its serial log drawn by tools/trace-svg.py as
# $(BUILD)/trace.svg. docs/trace.md. About 2 min.
TRACE_DIR := $(BUILD)/trace
.PHONY: trace
trace: $(LOADER) $(MONITOR) $(BUILD)/guests/vmxbench.efi
	$(Q)mkdir -p $(TRACE_DIR)
	$(Q)tools/mkimage.sh --loader $(LOADER) --monitor $(MONITOR) --kernel $(BUILD)/guests/vmxbench.efi \
		--debug-exit yes --trace on --out $(TRACE_DIR)/vmxbench.img >$(TRACE_DIR)/mkimage.log
	$(Q)tools/run.sh --emulator bochs --image $(TRACE_DIR)/vmxbench.img --timeout 600 \
		--log $(TRACE_DIR)/serial.log
	$(Q)rm -f $(TRACE_DIR)/vmxbench.img
	$(Q)tools/trace-svg.py $(TRACE_DIR)/serial.log -o $(BUILD)/trace.svg

.PHONY: clean help
clean:
	rm -rf $(BUILD)

help:
	@echo "make            build the loader, the monitor and the test guests"
	@echo "make run        boot the demonstration (L1 runs a container L2): Bochs, or QEMU/KVM with nested VT-x"
	@echo "make run-docker the same with the Docker chain (docker client in L1, dockerd in L2)"
	@echo "make test       every test tier; ends with 'N passed, N failed'"
	@echo "make test-unit | test-fuzz | test-bench-report | test-trace-tool | test-qemu | test-l2img | test-l2docker | test-bochs | test-nested"
	@echo "     | test-kvm | test-kvm-l1 | test-l3 | test-l2 | test-l2docker-bochs   one tier"
	@echo "make bench      vmxbench on bare Bochs and on nestvisor: cycles per VMX operation (docs/benchmarks.md)"
	@echo "make trace      vmxbench with the exit trace on, drawn as build/trace.svg (docs/trace.md)"
	@echo "make deps       install the Debian packages the build uses"
	@echo "make clean"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
