# The L2 images: a boot2docker-style Linux for containers (tests/l2/,
# docs/l2-image.md). Included by the top-level Makefile.

L2_DIR := $(BUILD)/l2
L2_INITRD_CRUN := $(L2_DIR)/initrd-crun.img
# Every input of the crun image; the L2 side comes from Debian packages that
# tools/mkl2initrd.sh downloads into $(L2_DIR)/debs (not installed here).
L2_CRUN_INPUTS := tools/mkl2initrd.sh tools/debpkg.sh tests/l2/init tests/l2/forward tests/l2/outb.c \
	tests/l2/bundle/config.json $(shell find tests/l2/bundle/rootfs -type f 2>/dev/null)

# The modules must be those of the kernel L2 boots: build/linux/vmlinuz.
$(L2_INITRD_CRUN): $(L2_CRUN_INPUTS) $(VMLINUZ) | $(DEPS_STAMP)
	$(Q)tools/mkl2initrd.sh --kernel-release "$$(cat $(LINUX_DIR)/version)" \
		--cache $(L2_DIR)/debs $@

# The KVM L2 of the l3 tier (docs/l3.md): busybox, kvm_intel and what it
# depends on, kvmtest (its guest is L3), /init in mode nestvisor.l2=kvm.
L2_INITRD_KVM := $(L2_DIR)/initrd-kvm.img
$(L2_INITRD_KVM): tools/mkl2kvm.sh tools/debpkg.sh tests/l2/init tests/l2/outb.c \
		$(BUILD)/l1/kvmtest $(VMLINUZ) | $(DEPS_STAMP)
	$(Q)tools/mkl2kvm.sh --kernel-release "$$(cat $(LINUX_DIR)/version)" \
		--cache $(L2_DIR)/debs --kvmtest $(BUILD)/l1/kvmtest $@

.PHONY: l2 test-l2img
l2: $(L2_INITRD_CRUN)

# The L2 image on QEMU/TCG (no VT-x needed): q35 with virtio-net-pci and
# microvm with virtio-mmio; container lines, the HTTP page through the
# forwarded port, the exit status. About 1 min.
test-l2img: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(VMLINUZ) $(L2_INITRD_CRUN))
	$(Q)tests/system/l2img.sh $(BUILD) $(RESULTS)/l2img.txt
