/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cycles per packet of the batch AEAD (rdtsc), per engine, direction, packet
 * size and batch size, each next to intel-ipsec-mb measured in the same run
 * (repetitions of the two interleaved). One line per case:
 *   aead impl=mb size=64 batch=16 cycles=61 ref_cycles=402 ratio=6.59 dir=encrypt
 * impl: mb (the multi-buffer code forced), auto (the default dispatch),
 * ipsecmb (forced; its own ref), and with --all ipsecmb-jobs / ipsecmb-burst
 * (one submission forced) and sodium (libsodium one message at a time).
 * ref_cycles: intel-ipsec-mb (default submission) on the same case; ratio =
 * ref_cycles / cycles, how many times fewer cycles than intel-ipsec-mb.
 * Sizes 64, 128, 512, 1420 and imix (7:4:1 of 64, 570, 1420, interleaved in
 * each batch); batches 1, 2, 4, 8, 16, 32, 64. Every op has its own key.
 * Only the AEAD call is timed; restoring ciphertexts between decryptions is not.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto/aead.h"
#include "crypto/ct.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t
cycles(void)
{
	return __rdtsc();
}
#else
static inline uint64_t
cycles(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
#endif

enum { MAX_BATCH = 64, MAX_SIZE = 1420, REPS = 9 };

/* IMIX 7:4:1 of 64, 570, 1420, interleaved. */
static const uint32_t imix[12] = { 64, 570, 64, 64, 570, 64, 1420, 64, 570, 64, 64, 570 };

enum impl { IMPL_MB, IMPL_AUTO, IMPL_IPSECMB, IMPL_JOBS, IMPL_BURST, IMPL_SODIUM, IMPL_N };
static const char *const impl_names[] = { "mb", "auto", "ipsecmb", "ipsecmb-jobs",
					  "ipsecmb-burst", "sodium" };

struct bench {
	struct wg_aead_ctx *ctx[IMPL_N];    /* sodium: unused */
	uint8_t keys[MAX_BATCH][32];
	uint8_t plain[MAX_BATCH][MAX_SIZE];
	uint8_t cipher[MAX_BATCH][MAX_SIZE];
	uint8_t ctag[MAX_BATCH][16];
	uint8_t data[MAX_BATCH][MAX_SIZE];
	uint8_t tags[MAX_BATCH][16];
	struct wg_aead_op ops[MAX_BATCH];
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* TSC frequency against CLOCK_MONOTONIC: best of a few 50 ms windows. */
static double
tsc_hz(void)
{
	double best = 0;
	uint64_t t0, c0, t1, c1;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		t0 = now_ns();
		c0 = cycles();
		do {
			t1 = now_ns();
		} while (t1 - t0 < 50000000ULL);
		c1 = cycles();
		if (i == 0 || (double)(c1 - c0) * 1e9 / (double)(t1 - t0) < best)
			best = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
	}
	return best;
}

static void
sodium_batch(struct wg_aead_op *ops, unsigned int n, bool encrypt)
{
	uint8_t nonce[12] = { 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		memcpy(nonce + 4, &ops[i].counter, 8);
		if (encrypt) {
			crypto_aead_chacha20poly1305_ietf_encrypt_detached(ops[i].data, ops[i].tag,
				NULL, ops[i].data, ops[i].len, NULL, 0, NULL, nonce, ops[i].key);
		} else {
			ops[i].ok = crypto_aead_chacha20poly1305_ietf_decrypt_detached(ops[i].data,
				NULL, ops[i].data, ops[i].len, ops[i].tag, NULL, 0, nonce,
				ops[i].key) == 0;
		}
	}
}

/* Sizes of the batch for iteration it: fixed, or the IMIX pattern continued. */
static void
setup(struct bench *b, uint32_t size, unsigned int batch, unsigned int it)
{
	unsigned int i;

	for (i = 0; i < batch; i++) {
		b->ops[i].len = size != 0 ? size : imix[(it * batch + i) % 12];
		b->ops[i].counter = it * MAX_BATCH + i;
	}
}

/* Encrypt reference ciphertexts for one set of sizes/counters (decrypt runs need them). */
static void
prepare_cipher(struct bench *b, unsigned int batch)
{
	unsigned int i;

	for (i = 0; i < batch; i++) {
		b->ops[i].data = b->cipher[i];
		b->ops[i].tag = b->ctag[i];
		memcpy(b->cipher[i], b->plain[i], b->ops[i].len);
	}
	sodium_batch(b->ops, batch, true);
	for (i = 0; i < batch; i++) {
		b->ops[i].data = b->data[i];
		b->ops[i].tag = b->tags[i];
	}
}

static uint64_t
run_once(struct bench *b, enum impl impl, bool encrypt, unsigned int batch)
{
	uint64_t c0, c1;
	unsigned int ok = batch;

	c0 = cycles();
	if (impl == IMPL_SODIUM)
		sodium_batch(b->ops, batch, encrypt);
	else if (encrypt)
		wg_aead_encrypt_batch(b->ctx[impl], b->ops, batch);
	else
		ok = wg_aead_decrypt_batch(b->ctx[impl], b->ops, batch);
	c1 = cycles();
	if (!encrypt && impl == IMPL_SODIUM) {
		unsigned int i;

		for (i = 0, ok = 0; i < batch; i++)
			ok += b->ops[i].ok;
	}
	if (ok != batch) {
		fprintf(stderr, "bench_aead: %u of %u decryptions failed\n", batch - ok, batch);
		exit(1);
	}
	return c1 - c0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Cycles of `iters` batches of one case. */
static uint64_t
run_rep(struct bench *b, enum impl impl, bool encrypt, uint32_t size, unsigned int batch,
	unsigned int iters, uint64_t *bytes)
{
	uint64_t total = 0;
	unsigned int it, i;

	*bytes = 0;
	for (it = 0; it < iters; it++) {
		setup(b, size, batch, it % 12);
		if (!encrypt) {
			prepare_cipher(b, batch);
			for (i = 0; i < batch; i++) {
				memcpy(b->data[i], b->cipher[i], b->ops[i].len);
				memcpy(b->tags[i], b->ctag[i], 16);
			}
		}
		total += run_once(b, impl, encrypt, batch);
		for (i = 0; i < batch; i++)
			*bytes += b->ops[i].len;
	}
	return total;
}

/*
 * Median over REPS of the cycles per packet of `iters` batches, for impl and
 * for intel-ipsec-mb (the reference), repetitions alternating so that both
 * see the same machine.
 */
static void
bench_case(struct bench *b, enum impl impl, bool encrypt, uint32_t size, unsigned int batch,
	   unsigned long budget_bytes)
{
	uint64_t mine[REPS], ref[REPS], bytes, pkts, c, r;
	unsigned int rep, iters;

	/* Enough iterations for about budget_bytes per repetition, a multiple of 12 (IMIX). */
	iters = (unsigned int)(budget_bytes / ((size != 0 ? size : 299) * batch + 64 * batch));
	iters = (iters / 12 + 1) * 12;

	for (rep = 0; rep <= REPS; rep++) {
		c = run_rep(b, impl, encrypt, size, batch, iters, &bytes);
		r = impl == IMPL_IPSECMB ? c : run_rep(b, IMPL_IPSECMB, encrypt, size, batch, iters,
							  &bytes);
		/* Repetition 0 is the warm-up. */
		if (rep > 0) {
			mine[rep - 1] = c;
			ref[rep - 1] = r;
		}
	}
	qsort(mine, REPS, sizeof(mine[0]), cmp_u64);
	qsort(ref, REPS, sizeof(ref[0]), cmp_u64);
	pkts = (uint64_t)iters * batch;
	c = (mine[REPS / 2] + pkts / 2) / pkts;
	r = (ref[REPS / 2] + pkts / 2) / pkts;
	printf("aead impl=%s size=", impl_names[impl]);
	if (size != 0)
		printf("%u", size);
	else
		printf("imix");
	printf(" batch=%u cycles=%llu ref_cycles=%llu ratio=%.2f dir=%s cpb=%.2f\n", batch,
	       (unsigned long long)c, (unsigned long long)r,
	       (double)ref[REPS / 2] / (double)mine[REPS / 2], encrypt ? "encrypt" : "decrypt",
	       (double)mine[REPS / 2] / (double)bytes);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 64, 128, 512, 1420, 0 };
	static const unsigned int batches[] = { 1, 2, 4, 8, 16, 32, 64 };
	static const enum wg_aead_submit submit[IMPL_N] = {
		[IMPL_JOBS] = WG_AEAD_SUBMIT_JOBS, [IMPL_BURST] = WG_AEAD_SUBMIT_BURST };
	unsigned long budget = 4UL << 20;
	bool all_impls = false, mb;
	struct bench *b;
	unsigned int i, s, k, d, impl_n;
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--quick") == 0)
			budget = 128UL << 10;
		else if (strcmp(argv[a], "--all") == 0)
			all_impls = true;
		else {
			fprintf(stderr, "usage: %s [--quick] [--all]\n"
				"  --quick  small runs (smoke test)\n"
				"  --all    also forced jobs / burst and libsodium\n", argv[0]);
			return 2;
		}
	}
	if (sodium_init() < 0)
		return 1;
	b = aligned_alloc(64, sizeof(*b));
	if (b == NULL)
		return 1;
	memset(b, 0, sizeof(*b));
	for (k = 0; k < IMPL_SODIUM; k++) {
		b->ctx[k] = wg_aead_ctx_create();
		if (b->ctx[k] == NULL) {
			fprintf(stderr, "bench_aead: cannot create an AEAD context\n");
			return 1;
		}
		wg_aead_ctx_set_impl(b->ctx[k], k == IMPL_AUTO ? WG_AEAD_IMPL_AUTO
						: WG_AEAD_IMPL_IPSECMB);
		wg_aead_ctx_set_submit(b->ctx[k], submit[k]);
	}
	mb = wg_aead_ctx_set_impl(b->ctx[IMPL_MB], WG_AEAD_IMPL_MB);
	for (i = 0; i < MAX_BATCH; i++) {
		/* Every op its own key, as with packets of different peers. */
		wg_random_bytes(b->keys[i], 32);
		wg_random_bytes(b->plain[i], MAX_SIZE);
		b->ops[i].key = b->keys[i];
		b->ops[i].data = b->data[i];
		b->ops[i].tag = b->tags[i];
		memcpy(b->data[i], b->plain[i], MAX_SIZE);
	}
	printf("aead arch=%s default=\"%s\" mb=%s tsc_hz=%.0f\n",
	       wg_aead_ctx_arch(b->ctx[IMPL_IPSECMB]), wg_aead_ctx_describe(b->ctx[IMPL_AUTO]),
	       mb ? "yes" : "no (no AVX-512 IFMA: mb lines are intel-ipsec-mb)", tsc_hz());
	impl_n = all_impls ? IMPL_N : IMPL_IPSECMB;
	for (k = 0; k < impl_n; k++)
		for (d = 0; d < 2; d++)
			for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
				for (i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
					if (k == IMPL_MB && batches[i] > 16)
						continue;
					bench_case(b, (enum impl)k, d == 0, sizes[s], batches[i],
						   budget);
				}
	for (k = 0; k < IMPL_SODIUM; k++)
		wg_aead_ctx_free(b->ctx[k]);
	free(b);
	return 0;
}
