/* Syscall numbers the raw sys_enter/sys_exit programs dispatch on, per architecture. */
#ifndef CW_SYSCALL_NRS_H
#define CW_SYSCALL_NRS_H

#if defined(__TARGET_ARCH_x86)
#define NR_write 1
#define NR_pwrite64 18
#define NR_writev 20
#define NR_rename 82
#define NR_unlink 87
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_pwritev 296
#define NR_renameat2 316
#define NR_pwritev2 328
#else
#error "syscall numbers for this architecture are missing (bpf/syscall_nrs.h)"
#endif

#endif
