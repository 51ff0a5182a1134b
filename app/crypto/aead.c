/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>
#include <sodium.h>

#include "crypto/aead.h"
#include "crypto/chachapoly_mb.h"
#include "crypto/ct.h"

_Static_assert(WG_AEAD_TAG_LEN == 16, "compared with wg_ct_equal16");

#ifndef WG_AEAD_DEFAULT_IMPL
#define WG_AEAD_DEFAULT_IMPL WG_AEAD_IMPL_AUTO
#endif

/*
 * Operations per manager round: each has its IV and computed tag here until
 * its job completes. At most IMB_MAX_BURST_SIZE so a round fits one burst.
 */
enum { AEAD_ROUND = 64, AEAD_IV_LEN = 12, AEAD_BURST_MIN = 8 };

/*
 * The cost model of AUTO, in TSC cycles, fitted to scripts/bench.sh aead on
 * AMD Zen 5 (docs/performance.md): a multi-buffer group costs MB_GROUP +
 * MB_PASS per 64-byte pass of its longest lane, whatever its number of
 * lanes (1,200 cycles for 16 x 64 bytes, 10,100 for 16 x 1420, minus the one
 * stack wipe per batch call, ~190, which groups share); intel-ipsec-mb costs
 * IMB_PER_JOB + IMB_PER_BLOCK per 64 bytes for each packet (~410 at 64 bytes,
 * ~930 at 1420). So 64-byte packets go multi-buffer from 3 per group, 1420-
 * byte ones from 11.
 */
enum { MB_GROUP = 610, MB_PASS = 405, IMB_PER_JOB = 385, IMB_PER_BLOCK = 24 };

struct wg_aead_ctx {
	IMB_MGR *mgr;
	const char *arch;
	enum wg_aead_submit submit;
	enum wg_aead_impl impl;
	bool mb;                    /* the multi-buffer code can run here */
	uint64_t fallbacks;         /* jobs the library refused, redone by libsodium */
	uint64_t n_mb, n_imb;       /* packets through each engine */
	char desc[64];
	struct wg_aead_op *sorted[AEAD_ROUND];
	struct wg_aead_op *rest[AEAD_ROUND];
	uint32_t cost[AEAD_ROUND + 1];
	bool group[AEAD_ROUND];
	uint8_t iv[AEAD_ROUND][16] __attribute__((aligned(64)));
	uint8_t tag[AEAD_ROUND][WG_AEAD_TAG_LEN] __attribute__((aligned(64)));
	IMB_JOB *jobs[AEAD_ROUND];
	uint8_t empty[16];         /* src/dst of keepalives, never read or written */
};

/* protocol.md §1.6: 4 zero bytes || LE64(counter). */
static void
wg_nonce(uint8_t nonce[12], uint64_t counter)
{
	unsigned int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

void
wg_aead_encrypt_raw(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		    const uint8_t nonce[12], const uint8_t key[32])
{
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, adlen, NULL, nonce, key);
}

bool
wg_aead_decrypt_raw(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		    const uint8_t nonce[12], const uint8_t key[32])
{
	if (len < WG_AEAD_TAG_LEN)
		return false;
	/* libsodium checks the tag in constant time before it decrypts. */
	if (crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, ad, adlen, nonce,
						      key) == 0)
		return true;
	wg_memzero(dst, len - WG_AEAD_TAG_LEN);
	return false;
}

void
wg_aead_encrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		uint64_t counter, const uint8_t key[32])
{
	uint8_t nonce[AEAD_IV_LEN];

	wg_nonce(nonce, counter);
	wg_aead_encrypt_raw(dst, src, len, ad, adlen, nonce, key);
}

bool
wg_aead_decrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		uint64_t counter, const uint8_t key[32])
{
	uint8_t nonce[AEAD_IV_LEN];

	wg_nonce(nonce, counter);
	return wg_aead_decrypt_raw(dst, src, len, ad, adlen, nonce, key);
}

void
wg_hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t nonce16[16])
{
	/* NULL constants: the ChaCha20 "expand 32-byte k" words. */
	crypto_core_hchacha20(out, nonce16, key, NULL);
}

/* §1.7: subkey = HChaCha20(key, nonce[0..15]), nonce12 = 00000000 || nonce[16..23]. */
static void
xaead_setup(uint8_t subkey[32], uint8_t nonce12[12], const uint8_t nonce[24],
	    const uint8_t key[32])
{
	wg_hchacha20(subkey, key, nonce);
	memset(nonce12, 0, 4);
	memcpy(nonce12 + 4, nonce + 16, 8);
}

void
wg_xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		 const uint8_t nonce[24], const uint8_t key[32])
{
	uint8_t subkey[WG_AEAD_KEY_LEN], nonce12[AEAD_IV_LEN];

	xaead_setup(subkey, nonce12, nonce, key);
	wg_aead_encrypt_raw(dst, src, len, ad, adlen, nonce12, subkey);
	wg_memzero(subkey, sizeof(subkey));
}

bool
wg_xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		 const uint8_t nonce[24], const uint8_t key[32])
{
	uint8_t subkey[WG_AEAD_KEY_LEN], nonce12[AEAD_IV_LEN];
	bool ok;

	xaead_setup(subkey, nonce12, nonce, key);
	ok = wg_aead_decrypt_raw(dst, src, len, ad, adlen, nonce12, subkey);
	wg_memzero(subkey, sizeof(subkey));
	return ok;
}

static const char *
arch_name(IMB_ARCH arch)
{
	switch (arch) {
	case IMB_ARCH_AVX512:
		return "avx512";
	case IMB_ARCH_AVX2:
		return "avx2";
	case IMB_ARCH_AVX:
		return "avx";
	default:
		return "sse";
	}
}

struct wg_aead_ctx *
wg_aead_ctx_create(void)
{
	struct wg_aead_ctx *ctx;
	IMB_ARCH arch = IMB_ARCH_NONE;
	enum wg_aead_impl impl;
	const char *env;

	ctx = aligned_alloc(64, sizeof(*ctx));
	if (ctx == NULL)
		return NULL;
	memset(ctx, 0, sizeof(*ctx));
	ctx->mgr = alloc_mb_mgr(0);
	if (ctx->mgr == NULL)
		goto fail;
	init_mb_mgr_auto(ctx->mgr, &arch);
	if (arch == IMB_ARCH_NONE || imb_get_errno(ctx->mgr) != 0)
		goto fail_mgr;
	ctx->arch = arch_name(arch);
	ctx->mb = wg_mb_available();
	impl = WG_AEAD_DEFAULT_IMPL;
	env = getenv("WG_DPDK_AEAD");
	if (env != NULL && *env != '\0' && !wg_aead_impl_parse(env, &impl))
		goto fail_mgr;
	if (!wg_aead_ctx_set_impl(ctx, impl))
		wg_aead_ctx_set_impl(ctx, WG_AEAD_IMPL_IPSECMB);
	return ctx;

fail_mgr:
	free_mb_mgr(ctx->mgr);
fail:
	free(ctx);
	return NULL;
}

void
wg_aead_ctx_free(struct wg_aead_ctx *ctx)
{
	if (ctx == NULL)
		return;
	/* Drain anything a caller left queued, then drop the key schedule copies. */
	while (IMB_FLUSH_JOB(ctx->mgr) != NULL)
		;
	free_mb_mgr(ctx->mgr);
	wg_memzero(ctx, sizeof(*ctx));
	free(ctx);
}

const char *
wg_aead_ctx_arch(const struct wg_aead_ctx *ctx)
{
	return ctx->arch;
}

bool
wg_aead_impl_parse(const char *s, enum wg_aead_impl *impl)
{
	if (strcmp(s, "auto") == 0)
		*impl = WG_AEAD_IMPL_AUTO;
	else if (strcmp(s, "mb") == 0)
		*impl = WG_AEAD_IMPL_MB;
	else if (strcmp(s, "ipsecmb") == 0)
		*impl = WG_AEAD_IMPL_IPSECMB;
	else
		return false;
	return true;
}

bool
wg_aead_ctx_set_impl(struct wg_aead_ctx *ctx, enum wg_aead_impl impl)
{
	if (impl == WG_AEAD_IMPL_MB && !ctx->mb)
		return false;
	ctx->impl = impl;
	if (impl == WG_AEAD_IMPL_MB)
		snprintf(ctx->desc, sizeof(ctx->desc), "mb-avx512ifma");
	else if (impl == WG_AEAD_IMPL_AUTO && ctx->mb)
		snprintf(ctx->desc, sizeof(ctx->desc), "auto (mb-avx512ifma + ipsec-mb %s)",
			 ctx->arch);
	else
		snprintf(ctx->desc, sizeof(ctx->desc), "%sipsec-mb %s",
			 impl == WG_AEAD_IMPL_AUTO ? "auto: " : "", ctx->arch);
	return true;
}

enum wg_aead_impl
wg_aead_ctx_impl(const struct wg_aead_ctx *ctx)
{
	return ctx->impl;
}

const char *
wg_aead_ctx_describe(const struct wg_aead_ctx *ctx)
{
	return ctx->desc;
}

void
wg_aead_ctx_counts(const struct wg_aead_ctx *ctx, uint64_t *mb, uint64_t *ipsecmb)
{
	*mb = ctx->n_mb;
	*ipsecmb = ctx->n_imb;
}

void
wg_aead_ctx_set_submit(struct wg_aead_ctx *ctx, enum wg_aead_submit mode)
{
	ctx->submit = mode;
}

uint64_t
wg_aead_ctx_fallbacks(const struct wg_aead_ctx *ctx)
{
	return ctx->fallbacks;
}

static void
fill_job(struct wg_aead_ctx *ctx, IMB_JOB *job, struct wg_aead_op *op, unsigned int slot,
	 bool encrypt)
{
	wg_nonce(ctx->iv[slot], op->counter);
	job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
	job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
	if (encrypt) {
		job->cipher_direction = IMB_DIR_ENCRYPT;
		job->chain_order = IMB_ORDER_CIPHER_HASH;
		job->auth_tag_output = op->tag;
	} else {
		job->cipher_direction = IMB_DIR_DECRYPT;
		job->chain_order = IMB_ORDER_HASH_CIPHER;
		/* 1.3 computes the tag on decrypt but never compares it: we do. */
		job->auth_tag_output = ctx->tag[slot];
	}
	job->enc_keys = op->key;
	job->dec_keys = op->key;
	job->key_len_in_bytes = WG_AEAD_KEY_LEN;
	/* A keepalive has no data; give the library a valid pointer anyway. */
	job->src = op->data != NULL ? op->data : ctx->empty;
	job->dst = op->data != NULL ? op->data : ctx->empty;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = op->len;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = op->len;
	job->iv = ctx->iv[slot];
	job->iv_len_in_bytes = AEAD_IV_LEN;
	job->auth_tag_output_len_in_bytes = WG_AEAD_TAG_LEN;
	job->u.CHACHA20_POLY1305.aad = NULL;
	job->u.CHACHA20_POLY1305.aad_len_in_bytes = 0;
	job->user_data = op;
	job->user_data2 = (void *)(uintptr_t)slot;
}

/* The library refused the job before touching the data: do it with libsodium. */
static bool
fallback(struct wg_aead_ctx *ctx, struct wg_aead_op *op, bool encrypt)
{
	uint8_t nonce[AEAD_IV_LEN];

	ctx->fallbacks++;
	wg_nonce(nonce, op->counter);
	if (encrypt) {
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(op->data, op->tag, NULL,
			op->data, op->len, NULL, 0, NULL, nonce, op->key);
		return true;
	}
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(op->data, NULL, op->data,
			op->len, op->tag, NULL, 0, nonce, op->key) == 0;
}

/* Returns the slot bit of a completed job; sets op->ok for decryption. */
static uint64_t
complete_job(struct wg_aead_ctx *ctx, const IMB_JOB *job, bool encrypt)
{
	struct wg_aead_op *op = job->user_data;
	unsigned int slot = (unsigned int)(uintptr_t)job->user_data2;
	bool ok;

	if (job->status != IMB_STATUS_COMPLETED)
		ok = fallback(ctx, op, encrypt);
	else
		ok = encrypt || wg_ct_equal16(ctx->tag[slot], op->tag);
	if (!encrypt) {
		if (!ok)
			wg_memzero(op->data, op->len);
		op->ok = ok;
	}
	return 1ULL << slot;
}

static uint64_t
run_jobs(struct wg_aead_ctx *ctx, struct wg_aead_op **ops, unsigned int n, bool encrypt)
{
	uint64_t done = 0;
	IMB_JOB *job;
	unsigned int i;

	for (i = 0; i < n; i++) {
		job = IMB_GET_NEXT_JOB(ctx->mgr);
		fill_job(ctx, job, ops[i], i, encrypt);
		job = IMB_SUBMIT_JOB(ctx->mgr);
		while (job != NULL) {
			done |= complete_job(ctx, job, encrypt);
			job = IMB_GET_COMPLETED_JOB(ctx->mgr);
		}
	}
	while ((job = IMB_FLUSH_JOB(ctx->mgr)) != NULL)
		done |= complete_job(ctx, job, encrypt);
	return done;
}

static uint64_t
run_burst(struct wg_aead_ctx *ctx, struct wg_aead_op **ops, unsigned int n, bool encrypt)
{
	unsigned int i, got, completed, submitted = 0;
	uint64_t done = 0;

	while (submitted < n) {
		got = IMB_GET_NEXT_BURST(ctx->mgr, n - submitted, ctx->jobs);
		if (got == 0) {
			completed = IMB_FLUSH_BURST(ctx->mgr, AEAD_ROUND, ctx->jobs);
			for (i = 0; i < completed; i++)
				done |= complete_job(ctx, ctx->jobs[i], encrypt);
			if (completed == 0)
				break;
			continue;
		}
		for (i = 0; i < got; i++)
			fill_job(ctx, ctx->jobs[i], ops[submitted + i], submitted + i, encrypt);
		completed = IMB_SUBMIT_BURST(ctx->mgr, got, ctx->jobs);
		/* Validation error: run_round() settles every op not returned as done. */
		if (completed == 0 && imb_get_errno(ctx->mgr) != 0)
			break;
		for (i = 0; i < completed; i++)
			done |= complete_job(ctx, ctx->jobs[i], encrypt);
		submitted += got;
	}
	do {
		completed = IMB_FLUSH_BURST(ctx->mgr, AEAD_ROUND, ctx->jobs);
		for (i = 0; i < completed; i++)
			done |= complete_job(ctx, ctx->jobs[i], encrypt);
	} while (completed > 0);
	return done;
}

/* intel-ipsec-mb for n operations (n <= AEAD_ROUND). */
static unsigned int
run_round(struct wg_aead_ctx *ctx, struct wg_aead_op **ops, unsigned int n, bool encrypt)
{
	uint64_t done;
	unsigned int i, ok = 0;

	ctx->n_imb += n;
	if (ctx->submit == WG_AEAD_SUBMIT_BURST ||
	    (ctx->submit == WG_AEAD_SUBMIT_AUTO && n >= AEAD_BURST_MIN))
		done = run_burst(ctx, ops, n, encrypt);
	else
		done = run_jobs(ctx, ops, n, encrypt);
	for (i = 0; i < n; i++) {
		/* A job the manager never returned must not leave its data unjudged. */
		if ((done & (1ULL << i)) == 0) {
			if (encrypt) {
				fallback(ctx, ops[i], true);
			} else {
				wg_memzero(ops[i]->data, ops[i]->len);
				ops[i]->ok = false;
			}
		}
		ok += !encrypt && ops[i]->ok;
	}
	return ok;
}

static inline uint32_t
passes(const struct wg_aead_op *op)
{
	return (op->len + 63) / 64;
}

/*
 * Plan a round of n operations sorted by length, longest first: cost[i] is
 * the cheapest way to do operations i..n-1, either operation i alone on
 * intel-ipsec-mb or a multi-buffer group of the next (up to) 16, whose cost
 * is set by its first (longest) lane. group[i] records the choice. The cost
 * of the rest is non-increasing in i, so a group always takes all 16 it can.
 */
static void
plan_round(struct wg_aead_ctx *ctx, unsigned int n)
{
	unsigned int i, next;
	uint32_t p, one, grp;

	ctx->cost[n] = 0;
	for (i = n; i-- > 0;) {
		p = passes(ctx->sorted[i]);
		next = i + WG_MB_LANES < n ? i + WG_MB_LANES : n;
		one = IMB_PER_JOB + IMB_PER_BLOCK * p + ctx->cost[i + 1];
		grp = MB_GROUP + MB_PASS * p + ctx->cost[next];
		ctx->group[i] = ctx->impl == WG_AEAD_IMPL_MB || grp < one;
		ctx->cost[i] = ctx->group[i] ? grp : one;
	}
}

/* Inlined so that the caller's wg_mb_wipe_stack() covers the kernel's frame. */
static inline __attribute__((always_inline)) unsigned int
dispatch_round(struct wg_aead_ctx *ctx, struct wg_aead_op *ops, unsigned int n, bool encrypt,
	       bool *used_mb)
{
	struct wg_aead_op **sorted = ctx->sorted;
	unsigned int i, j, m, rest = 0, ok = 0;

	if (ctx->impl == WG_AEAD_IMPL_IPSECMB || !ctx->mb) {
		for (i = 0; i < n; i++)
			sorted[i] = &ops[i];
		return run_round(ctx, sorted, n, encrypt);
	}
	/* Insertion sort by length, longest first: bursts are mostly uniform. */
	for (i = 0; i < n; i++) {
		struct wg_aead_op *op = &ops[i];

		for (j = i; j > 0 && sorted[j - 1]->len < op->len; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = op;
	}
	plan_round(ctx, n);
	for (i = 0; i < n; i += m) {
		if (!ctx->group[i]) {
			ctx->rest[rest++] = sorted[i];
			m = 1;
			continue;
		}
		m = n - i < WG_MB_LANES ? n - i : WG_MB_LANES;
		ctx->n_mb += m;
		*used_mb = true;
		if (encrypt)
			wg_mb_encrypt_nowipe(&sorted[i], m);
		else
			ok += wg_mb_decrypt_nowipe(&sorted[i], m);
	}
	if (rest > 0)
		ok += run_round(ctx, ctx->rest, rest, encrypt);
	return ok;
}

/* One stack wipe per call, after the last multi-buffer group: not one per group. */
void
wg_aead_encrypt_batch(struct wg_aead_ctx *ctx, struct wg_aead_op *ops, unsigned n)
{
	bool used_mb = false;
	unsigned int m;

	for (; n > 0; ops += m, n -= m) {
		m = n < AEAD_ROUND ? n : AEAD_ROUND;
		dispatch_round(ctx, ops, m, true, &used_mb);
	}
	if (used_mb)
		wg_mb_wipe_stack();
}

unsigned
wg_aead_decrypt_batch(struct wg_aead_ctx *ctx, struct wg_aead_op *ops, unsigned n)
{
	bool used_mb = false;
	unsigned int m, ok = 0;

	for (; n > 0; ops += m, n -= m) {
		m = n < AEAD_ROUND ? n : AEAD_ROUND;
		ok += dispatch_round(ctx, ops, m, false, &used_mb);
	}
	if (used_mb)
		wg_mb_wipe_stack();
	return ok;
}
