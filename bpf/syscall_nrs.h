/* Syscall numbers the raw sys_enter/sys_exit programs dispatch on, per architecture and ABI. */
#ifndef CW_SYSCALL_NRS_H
#define CW_SYSCALL_NRS_H

#if defined(__TARGET_ARCH_x86)
/* x86-64 (arch/x86/entry/syscalls/syscall_64.tbl) */
#define NR_read 0
#define NR_write 1
#define NR_ioctl 16
#define NR_pread64 17
#define NR_pwrite64 18
#define NR_readv 19
#define NR_writev 20
#define NR_sendfile 40
#define NR_rename 82
#define NR_unlink 87
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_splice 275
#define NR_preadv 295
#define NR_pwritev 296
#define NR_renameat2 316
#define NR_copy_file_range 326
#define NR_preadv2 327
#define NR_pwritev2 328
#define NR_open 2
#define NR_creat 85
#define NR_openat 257
/* size changes (bpf/size_path.bpf.h) */
#define NR_truncate 76
#define NR_ftruncate 77
#define NR_fallocate 285
#define NR_openat2 437

/* i386, what int 0x80, sysenter and 32-bit syscall use from any process
 * (arch/x86/entry/syscalls/syscall_32.tbl). The same numbers mean other calls
 * in the 64-bit table (20 is getpid here, writev there). */
#define NR_ia32_read 3
#define NR_ia32_write 4
#define NR_ia32_unlink 10
#define NR_ia32_rename 38
#define NR_ia32_ioctl 54
#define NR_ia32_readv 145
#define NR_ia32_writev 146
#define NR_ia32_pread64 180
#define NR_ia32_pwrite64 181
#define NR_ia32_sendfile 187
#define NR_ia32_sendfile64 239
#define NR_ia32_unlinkat 301
#define NR_ia32_renameat 302
#define NR_ia32_splice 313
#define NR_ia32_preadv 333
#define NR_ia32_pwritev 334
#define NR_ia32_renameat2 353
#define NR_ia32_copy_file_range 377
#define NR_ia32_preadv2 378
#define NR_ia32_pwritev2 379
#define NR_ia32_open 5
#define NR_ia32_creat 8
#define NR_ia32_openat 295
#define NR_ia32_truncate 92
#define NR_ia32_ftruncate 93
#define NR_ia32_truncate64 193
#define NR_ia32_ftruncate64 194
#define NR_ia32_fallocate 324
#define NR_ia32_openat2 437
#else
#error "syscall numbers for this architecture are missing (bpf/syscall_nrs.h)"
#endif

#endif
