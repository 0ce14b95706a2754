# nvlaunch: the project's KVM launcher that L1 uses to start a Linux L2
# (tools/nvlaunch/, docs/nvlaunch.md). Included by the top-level Makefile.
NVLAUNCH     := $(BUILD)/l1/nvlaunch
NVLAUNCH_SRC := tools/nvlaunch/main.c tools/nvlaunch/boot.c tools/nvlaunch/acpi.c \
	tools/nvlaunch/uart.c tools/nvlaunch/virtio_net.c \
	tools/nvlaunch/ports.c
NVLAUNCH_HDR := tools/nvlaunch/boot.h tools/nvlaunch/acpi.h tools/nvlaunch/uart.h \
	tools/nvlaunch/virtio_net.h tools/nvlaunch/nvlaunch.h \
	tools/nvlaunch/ports.h

$(NVLAUNCH): $(NVLAUNCH_SRC) $(NVLAUNCH_HDR) tools/nvlaunch/nvlaunch.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) -static -O2 -Wall -Wextra -Werror -pthread -o $@ $(NVLAUNCH_SRC)

.PHONY: nvlaunch
nvlaunch: $(NVLAUNCH)

# Host unit tests of the boot protocol and the ACPI tables (pure code).
UNIT_SRC += tests/unit/test_nvlaunch_boot.c tools/nvlaunch/boot.c tools/nvlaunch/acpi.c
UNIT_HDR += tools/nvlaunch/boot.h tools/nvlaunch/acpi.h
