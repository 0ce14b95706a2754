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
$(L2_DOCKER_INITRD): tools/mkl2docker.sh tests/l2/docker/init \
		tests/l2/docker/containerd.toml tests/l2/outb.c $(VMLINUZ) | $(DEPS_STAMP)
	$(Q)tools/mkl2docker.sh --kernel-release "$$(cat $(LINUX_DIR)/version)" \
		--kernel $(VMLINUZ) --cache $(L2_DOCKER_DEBS) $@

$(L1_DOCKER_STAMP): tools/mkl1docker.sh tests/l1/dockerchain | $(DEPS_STAMP)
	$(Q)tools/mkl1docker.sh --cache $(L2_DOCKER_DEBS) $(L1_DOCKER_TREE) && touch $@

.PHONY: l2-docker test-l2docker
l2-docker: $(L2_DOCKER_INITRD) $(L1_DOCKER_STAMP)

# The Docker L2 on QEMU/TCG (no VT-x needed), driven by the host with the
# client from the L1 tree: the same steps as tests/l1/dockerchain. About
# 2-4 min (the daemon starts slowly under TCG).
test-l2docker: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(VMLINUZ) $(L2_DOCKER_INITRD) $(L1_DOCKER_STAMP))
	$(Q)tests/system/l2docker-tcg.sh $(BUILD) $(RESULTS)/l2docker.txt
