# Coverage-guided fuzzing of the pure nested modules with libFuzzer
# (clang -fsanitize=fuzzer) under AddressSanitizer and UBSan, UB fatal.
# docs/fuzzing.md. Included from the Makefile.
#
#   make fuzz        FUZZ_RUNS inputs per target (default 1,000,000), one
#                    target after the other; keeps a corpus per target in
#                    build/fuzz/corpus/ and crashes in build/fuzz/artifacts/
#   make test-fuzz   the make test tier: FUZZ_TEST_RUNS (200,000) inputs
#                    per target from the seeds, fixed libFuzzer seed
#   make fuzz-build  the harnesses only

FUZZ_CC      := clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_RUNS      ?= 1000000
FUZZ_TEST_RUNS ?= 200000
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -Wall -Wextra -Werror -DNV_HOST_TEST \
	-Iinclude -Iboot -Ivmm -Iarch/x86_64/include -Iarch/x86_64 -Itests/fuzz \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

NV_NESTED := arch/x86_64/nested
# One harness per target; each links the module sources it tests.
FUZZ_TARGETS := vmcs12 entry_checks operand ept12 reflect guest_walk
FUZZ_SRC_vmcs12       := $(NV_NESTED)/vmcs12.c
FUZZ_SRC_entry_checks := $(NV_NESTED)/vmcs12.c $(NV_NESTED)/caps.c \
	$(NV_NESTED)/entry_checks.c $(NV_NESTED)/entry_checks_ctl.c \
	$(NV_NESTED)/entry_checks_host.c $(NV_NESTED)/entry_checks_guest.c \
	$(NV_NESTED)/entry_checks_seg.c tests/common/entry_vmcs12.c
FUZZ_SRC_operand      := $(NV_NESTED)/operand.c
FUZZ_SRC_ept12        := $(NV_NESTED)/ept12.c
FUZZ_SRC_reflect      := $(NV_NESTED)/reflect.c $(NV_NESTED)/vmcs12.c arch/x86_64/exit_reason.c
FUZZ_SRC_guest_walk   := $(NV_NESTED)/guest_walk.c
FUZZ_HDR := tests/fuzz/fuzz.h $(wildcard tests/fuzz/*.h) $(wildcard tests/common/*.h) \
	$(wildcard $(NV_NESTED)/*.h) \
	$(wildcard arch/x86_64/include/*.h) $(wildcard include/nestvisor/*.h)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

define fuzz_rule
$(FUZZ_DIR)/$(1): tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_HDR) | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	@echo "  FUZZCC  $$@"
	$$(Q)$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ $$< $(FUZZ_SRC_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

.PHONY: fuzz fuzz-build test-fuzz
fuzz-build: $(FUZZ_BINS)

# make fuzz: results in build/fuzz/results/ and the summary line; times and
# inputs per second in build/fuzz/results/fuzz.log.
fuzz: | $(DEPS_STAMP)
	-$(Q)$(call build_inputs,$(FUZZ_BINS))
	$(Q)tests/fuzz/run-fuzz.sh --runs $(FUZZ_RUNS) --corpus keep $(FUZZ_DIR) \
		$(FUZZ_DIR)/results/fuzz.txt $(FUZZ_TARGETS)
	$(Q)tests/summary.sh $(FUZZ_DIR)/results

test-fuzz: | $(DEPS_STAMP)
	$(Q)mkdir -p $(RESULTS)
	-$(Q)$(call build_inputs,$(FUZZ_BINS))
	$(Q)tests/fuzz/run-fuzz.sh --runs $(FUZZ_TEST_RUNS) --corpus fresh --seed 1 $(FUZZ_DIR) \
		$(RESULTS)/fuzz.txt $(FUZZ_TARGETS)
