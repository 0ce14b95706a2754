/* Shared by the libFuzzer harnesses of tests/fuzz/ (docs/fuzzing.md): a
 * reader that turns the fuzzer's bytes into values (zeros once they run
 * out, so every input is valid), the property-failure report, a small
 * PRNG, and the seed writer each harness uses to lay out its seed corpus.
 *
 * Every harness defines fuzz_one(), its seeds in fuzz_write_seeds(), and
 * may define fuzz_init(); this header supplies LLVMFuzzerTestOneInput and
 * LLVMFuzzerInitialize around them. */
#ifndef NV_FUZZ_H
#define NV_FUZZ_H

#include <nestvisor/types.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reader. */
struct fz {
	const u8 *p;
	size_t n;
};

static inline u8 fz_u8(struct fz *z)
{
	if (!z->n)
		return 0;
	z->n--;
	return *z->p++;
}

static inline u64 fz_bytes(struct fz *z, unsigned int bytes)
{
	u64 x = 0;

	for (unsigned int i = 0; i < bytes; i++)
		x |= (u64)fz_u8(z) << (8 * i);
	return x;
}

static inline u16 fz_u16(struct fz *z) { return (u16)fz_bytes(z, 2); }
static inline u32 fz_u32(struct fz *z) { return (u32)fz_bytes(z, 4); }
static inline u64 fz_u64(struct fz *z) { return fz_bytes(z, 8); }
static inline bool fz_bool(struct fz *z) { return fz_u8(z) & 1; }
static inline bool fz_more(const struct fz *z) { return z->n > 0; }

/* A property the harness checks does not hold: say which, and abort, so
 * libFuzzer reports a crash and saves the input (crash-<sha1>). The
 * "nv-fuzz: property violated:" prefix is what tests/fuzz/run-fuzz.sh
 * quotes in its FAIL line. */
__attribute__((noreturn, format(printf, 1, 2)))
static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nv-fuzz: property violated: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

#define FUZZ_CHECK(cond, ...)                                                \
	do {                                                                 \
		if (!(cond))                                                 \
			fuzz_fail(__VA_ARGS__);                              \
	} while (0)

/* splitmix64: fills memory from a seed the input gives. */
static inline u64 fz_rand(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Seeds: a harness builds each one with the put functions and writes it
 * with seed_write() into the directory NV_FUZZ_SEEDS names. */
struct seed {
	u8 b[8192];
	size_t n;
};

static inline void seed_put(struct seed *s, u64 x, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes && s->n < sizeof(s->b); i++)
		s->b[s->n++] = (u8)(x >> (8 * i));
}
#define seed_u8(s, x) seed_put((s), (x), 1)
#define seed_u16(s, x) seed_put((s), (x), 2)
#define seed_u32(s, x) seed_put((s), (x), 4)
#define seed_u64(s, x) seed_put((s), (x), 8)

static const char *seed_dir;

static inline void seed_write(const struct seed *s, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->n, f) != s->n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* What each harness provides. */
static void fuzz_one(struct fz *z);
static void fuzz_write_seeds(void);
#ifdef FUZZ_HAS_INIT
static void fuzz_init(void);
#endif

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz z = { data, size };

	fuzz_one(&z);
	return 0;
}

/* NV_FUZZ_SEEDS=DIR: write the seed corpus into DIR and exit. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
#ifdef FUZZ_HAS_INIT
	fuzz_init();
#endif
	seed_dir = getenv("NV_FUZZ_SEEDS");
	if (seed_dir) {
		fuzz_write_seeds();
		exit(0);
	}
	return 0;
}

#endif
