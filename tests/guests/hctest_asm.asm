; hctest: the ring-3 code of hctest_ring3.c. Fault stubs, the ring-3 switch
; and the full-register VMCALL are in lib/. Declarations: hctest.h.
bits 64
default rel

%define TG_VEC_RING0_RETURN 0x80
%define HCT_R3_FAULTED 0x7fff00000f17

section .text

; Copied to a user page: position independent. A fault in ring 3 resumes
; at hct_r3_template_fault (the C side registers it).
global hct_r3_template:data hidden
global hct_r3_template_fault:data hidden
global hct_r3_template_end:data hidden
hct_r3_template:
	vmcall
	int TG_VEC_RING0_RETURN
	jmp $
hct_r3_template_fault:
	mov rax, HCT_R3_FAULTED
	int TG_VEC_RING0_RETURN
	jmp $
hct_r3_template_end:

section .note.GNU-stack noalloc noexec nowrite progbits
