#pragma once
// Kernel interface numbers that the C libraries the prebuilds target (glibc 2.28, musl)
// do not name yet: the values are the kernel's ABI and never change.
#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; glibc 2.35
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; glibc 2.35
#endif
#ifndef SYS_futex_waitv
// Linux 5.16, the same number on every architecture; glibc 2.35, not in musl 1.2.4.
#define SYS_futex_waitv 449
#endif
