/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ChaCha20-Poly1305 (RFC 8439) with the WireGuard nonce (4 zero bytes ||
 * LE64(counter)), protocol.md §1.6, and XChaCha20-Poly1305 (§1.7).
 *
 * Two interfaces:
 *  - single messages with AAD (handshake, cookies): wg_aead_* / wg_xaead_*;
 *  - the data-path batch: N independent (key, counter, buffer) operations in
 *    one call, no AAD (transport data has none), one struct wg_aead_ctx per
 *    thread. Two engines behind it: our 16-lane AVX-512 multi-buffer code
 *    (chachapoly_mb.c) and intel-ipsec-mb's one-packet-per-job code; the
 *    ctx's implementation chooses (see enum wg_aead_impl).
 */
#ifndef WG_AEAD_H
#define WG_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { WG_AEAD_KEY_LEN = 32, WG_AEAD_TAG_LEN = 16, WG_XAEAD_NONCE_LEN = 24 };

/* dst = ciphertext || tag (len + 16 bytes). dst may equal src. */
void wg_aead_encrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		     uint64_t counter, const uint8_t key[32]);
/*
 * src = ciphertext || tag (len >= 16); dst gets len - 16 bytes of plaintext
 * only if the tag verifies. On failure those len - 16 bytes of dst are zeroed
 * (for len >= 16): dst never holds unauthenticated plaintext.
 */
bool wg_aead_decrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		     uint64_t counter, const uint8_t key[32]) __attribute__((warn_unused_result));
/*
 * The same with the raw 96-bit RFC 8439 nonce (any first word): the primitive
 * under wg_aead_* and wg_xaead_*.
 */
void wg_aead_encrypt_raw(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			 size_t adlen, const uint8_t nonce[12], const uint8_t key[32]);
bool wg_aead_decrypt_raw(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			 size_t adlen, const uint8_t nonce[12], const uint8_t key[32])
	__attribute__((warn_unused_result));
/* HChaCha20 (§1.7): the XChaCha20 subkey of key and the first 16 nonce bytes. */
void wg_hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t nonce16[16]);
/*
 * XChaCha20-Poly1305 (§1.7): wg_aead_*_raw under wg_hchacha20(key,
 * nonce[0..15]) with the nonce 00000000 || nonce[16..23].
 */
void wg_xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		      const uint8_t nonce[24], const uint8_t key[32]);
bool wg_xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		      const uint8_t nonce[24], const uint8_t key[32]) __attribute__((warn_unused_result));

/* One operation of a batch. Transport data: in place, no AAD. */
struct wg_aead_op {
	const uint8_t *key;     /* 32-byte key */
	uint64_t counter;       /* nonce counter */
	uint8_t *data;          /* plaintext (encrypt) / ciphertext (decrypt), in place */
	uint32_t len;           /* bytes of data, tag excluded */
	uint8_t *tag;           /* encrypt: written; decrypt: compared (16 bytes) */
	bool ok;                /* decrypt: set true only if the tag verified */
};

struct wg_aead_ctx;

/*
 * Which engine a ctx's batches use.
 *  - AUTO: multi-buffer groups of up to 16 packets (bucketed by length)
 *    wherever a cost model measured on AVX-512 IFMA says they beat
 *    intel-ipsec-mb, intel-ipsec-mb for the rest; plain intel-ipsec-mb on
 *    CPUs without AVX-512F/BW/VL/IFMA.
 *  - MB: every packet through the multi-buffer code (if the CPU has it).
 *  - IPSECMB: every packet through intel-ipsec-mb.
 * The default is AUTO unless the build option `aead` says otherwise; the
 * environment variable WG_DPDK_AEAD (auto, mb, ipsecmb) overrides it at
 * wg_aead_ctx_create. Results are identical whichever runs.
 */
enum wg_aead_impl { WG_AEAD_IMPL_AUTO, WG_AEAD_IMPL_MB, WG_AEAD_IMPL_IPSECMB };

/*
 * One per thread: an intel-ipsec-mb manager chosen for this CPU and the
 * implementation from the build default and WG_DPDK_AEAD. NULL on failure
 * (including an unknown WG_DPDK_AEAD value).
 */
struct wg_aead_ctx *wg_aead_ctx_create(void);
void wg_aead_ctx_free(struct wg_aead_ctx *ctx);
/* "avx512", "avx2", "avx" or "sse": the code path the manager selected. */
const char *wg_aead_ctx_arch(const struct wg_aead_ctx *ctx);
/*
 * Force an implementation; false (ctx unchanged) when MB is asked for and
 * this CPU or build has no multi-buffer code.
 */
bool wg_aead_ctx_set_impl(struct wg_aead_ctx *ctx, enum wg_aead_impl impl);
enum wg_aead_impl wg_aead_ctx_impl(const struct wg_aead_ctx *ctx);
/* "auto (mb-avx512ifma + ipsec-mb avx512)", "mb-avx512ifma", "ipsec-mb avx512"... */
const char *wg_aead_ctx_describe(const struct wg_aead_ctx *ctx);
/* Parse "auto", "mb" or "ipsecmb"; false for anything else. */
bool wg_aead_impl_parse(const char *s, enum wg_aead_impl *impl);
/* Packets each engine has processed through this ctx (mb, ipsec-mb). */
void wg_aead_ctx_counts(const struct wg_aead_ctx *ctx, uint64_t *mb, uint64_t *ipsecmb);

/* Encrypt n operations (any n). */
void wg_aead_encrypt_batch(struct wg_aead_ctx *ctx, struct wg_aead_op *ops, unsigned n);
/*
 * Decrypt n operations; sets ops[i].ok and returns how many verified. A
 * failed operation's buffer is wiped: no unauthenticated plaintext survives.
 */
unsigned wg_aead_decrypt_batch(struct wg_aead_ctx *ctx, struct wg_aead_op *ops, unsigned n);

/*
 * How a ctx feeds intel-ipsec-mb. AUTO (the default) uses the burst API for
 * rounds of at least 8 operations and single jobs below that: measured faster
 * each way with 1.3 on AVX2 (scripts/bench.sh aead --all). Results are
 * identical in every mode; forcing one is for tests and benchmarks.
 */
enum wg_aead_submit { WG_AEAD_SUBMIT_AUTO, WG_AEAD_SUBMIT_JOBS, WG_AEAD_SUBMIT_BURST };
void wg_aead_ctx_set_submit(struct wg_aead_ctx *ctx, enum wg_aead_submit mode);
/* Jobs the library refused (never expected) and that libsodium redid. */
uint64_t wg_aead_ctx_fallbacks(const struct wg_aead_ctx *ctx);

#endif
