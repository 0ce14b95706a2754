# The Docker chain (issue 6, docs/l2-docker.md): the Docker variant of the
# L2 image and the L1 tree of the client side. Included by the top-level
# Makefile after tests/l2/l2.mk (it uses BUILD, LINUX_DIR, VMLINUZ,
# DEPS_STAMP, Q, RESULTS and build_inputs from there).

L2_DOCKER_INITRD := $(BUILD)/l2/initrd-docker.img
# The L1 tree: tools/mkinitrd.sh --tree $(L1_DOCKER_TREE) puts the docker
# client, tests/l1/dockerchain and the image tarball into L1's initramfs
# (its stamp inside it, as with $(QEMU_TREE)/.done).
L1_DOCKER_TREE := $(BUILD)/l1docker
L1_DOCKER_STAMP := $(L1_DOCKER_TREE)/.done
# Both scripts fetch their Debian packages into the cache mkl2initrd.sh
# uses, so docker.io and libc6 are downloaded once.
L2_DOCKER_DEBS := $(BUILD)/l2/debs

# The modules must be those of the kernel L2 boots: build/linux/vmlinuz.
$(L2_DOCKER_INITRD): tools/mkl2docker.sh tools/debpkg.sh tests/l2/docker/init \
		tests/l2/docker/containerd.toml tests/l2/outb.c $(VMLINUZ) | $(DEPS_STAMP)
	$(Q)tools/mkl2docker.sh --kernel-release "$$(cat $(LINUX_DIR)/version)" \
		--kernel $(VMLINUZ) --cache $(L2_DOCKER_DEBS) $@

$(L1_DOCKER_STAMP): tools/mkl1docker.sh tools/debpkg.sh tests/l1/dockerchain | $(DEPS_STAMP)
	$(Q)tools/mkl1docker.sh --cache $(L2_DOCKER_DEBS) $(L1_DOCKER_TREE) && touch $@

# L1's initramfs for the Docker chain: the L1 initramfs, QEMU, the client
# tree, and L2's kernel and Docker initramfs under /l2. Both inner images
# are compressed already: a faster zstd level loses little here.
INITRD_DOCKER := $(LINUX_DIR)/initrd-docker.img
$(INITRD_DOCKER): tools/mkinitrd.sh tests/l1/init $(L1_PROGS) $(KVM_MODS) \
		$(QEMU_TREE)/.done $(L1_DOCKER_STAMP) $(VMLINUZ) $(L2_DOCKER_INITRD)
	$(Q)tools/mkinitrd.sh --zstd --tree $(QEMU_TREE) --tree $(L1_DOCKER_TREE) \
		--file $(VMLINUZ):/l2/vmlinuz --file $(L2_DOCKER_INITRD):/l2/initrd-docker.img \
		$@ tests/l1/init $(L1_PROGS) $(KVM_MODS)

.PHONY: l2-docker test-l2docker
l2-docker: $(L2_DOCKER_INITRD) $(L1_DOCKER_STAMP)

# The Docker L2 on QEMU/TCG (no VT-x needed), driven by the host with the
# client from the L1 tree: the same steps as tests/l1/dockerchain. About
# 2-4 min (the daemon starts slowly under TCG).
test-l2docker: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(VMLINUZ) $(L2_DOCKER_INITRD) $(L1_DOCKER_STAMP))
	$(Q)tests/system/l2docker-tcg.sh $(BUILD) $(RESULTS)/l2docker.txt

# make run-docker: the demonstration with the Docker chain (the docker
# client in L1 drives dockerd in L2), on Bochs or QEMU/KVM as `make run`.
IMG_DOCKER := $(BUILD)/nestvisor-docker.img
$(IMG_DOCKER): $(LOADER) $(MONITOR) $(VMLINUZ) $(INITRD_DOCKER) tools/mkimage.sh
	$(Q)tools/mkimage.sh --loader $(LOADER) --monitor $(MONITOR) \
		--kernel $(VMLINUZ) --initrd $(INITRD_DOCKER) \
		--cmdline "console=ttyS0,115200 quiet nestvisor.demo=1" \
		--debug-exit yes --out $@

.PHONY: run-docker
run-docker: $(IMG_DOCKER)
	$(Q)tools/run.sh $(RUN_ARGS_$(RUN_EMU)) --image $(IMG_DOCKER) --timeout 3000 \
		--mem 2048 --log $(BUILD)/run-docker-serial.log --echo
