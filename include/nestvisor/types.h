/* Fixed-width types shared by the loader, the monitor, test guests and the
 * host-side unit tests. Freestanding: no libc headers. */
#ifndef NESTVISOR_TYPES_H
#define NESTVISOR_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define BIT(n) (1ULL << (n))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((u64)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a) - 1))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define PAGE_SIZE 4096ULL
#define PAGE_SIZE_2M (2ULL << 20)
#define PAGE_SIZE_1G (1ULL << 30)

#endif
