/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Multi-buffer ChaCha20-Poly1305, written from RFC 8439: sixteen messages per
 * call, message L in 32-bit lane L of every vector.
 *
 * ChaCha20 (RFC 8439 §2.3). The state is transposed: vector j holds state
 * word j of all sixteen lanes, so one quarter round on four vectors is the
 * same quarter round in sixteen independent blocks with sixteen keys. The
 * initial states are built one row per lane and transposed once per call;
 * each pass of 64 bytes runs the block function with block counter pass+1,
 * loads each lane's 64 bytes (masked past its end), transposes them to the
 * same word-per-vector layout, XORs, transposes back and stores masked.
 *
 * Poly1305 (§2.5) over the ciphertext, zero-padded to 16 bytes, then
 * le64(0) || le64(len) (§2.8, no AAD). The one-time key is the first 32 bytes
 * of block 0. Sixteen accumulators in two vectors of eight 64-bit lanes
 * (lanes 0,1,4,5,8,9,12,13 and 2,3,6,7,10,11,14,15: what unpacklo/hi of the
 * word vectors give for free), radix 2^44: h = h0 + h1*2^44 + h2*2^88, r the
 * same, with s1 = 20*r1 and s2 = 20*r2 since 2^132 = 4*2^130 == 20 (mod p).
 * A lane takes a 16-byte block only while the block lies below its length;
 * the blend is on a mask computed from lengths, never from data.
 *
 * Four-block steps. Where every lane of a half takes all four blocks of a
 * pass (or none), h = (h + b0) r^4 + b1 r^3 + b2 r^2 + b3 r: four
 * independent products summed into one set of columns, then one carry
 * chain. r^2, r^3, r^4 are computed once per call (products of r, carried as
 * below). Partial passes (a lane ending inside them) take blocks one by one.
 *
 * Carry bounds. vpmadd52{lo,hi}uq multiply the low 52 bits of each operand
 * and add the low or high 52 bits of the 104-bit product to a 64-bit
 * accumulator, so every limb fed to them must be below 2^52 and the column
 * sums must stay below 2^64.
 *  - Key limbs. Clamping leaves r < 2^124: r0, r1 < 2^44, r2 < 2^36. A power
 *    of r comes out of the carry chain below: limbs < 2^44, < 2^44 + 2^17,
 *    < 2^42. So every key limb is below 2^44 + 2^17 and every s_k = 20 r_k
 *    below 2^49 + 2^22 < 2^50.
 *  - Multiplicands. h0, h1 < 2^44 + 2^17 and h2 < 2^42 leave the carry chain
 *    (shown below, by induction from h = 0); adding a block (m0, m1 < 2^44,
 *    m2 < 2^40 + 2^40 with the pad bit) gives h0, h1 < 2^46, h2 < 2^43. A
 *    bare block of a four-block step is smaller still. All below 2^52.
 *  - Products are below 2^46 * 2^50 = 2^96: each low half is below 2^52 and
 *    each high half below 2^44. Column k sums three products per block, at
 *    most twelve in a four-block step: L_k < 12 * 2^52 < 2^56,
 *    H_k < 12 * 2^44 < 2^48.
 *  - Column k is L_k + H_k * 2^52 at weight 2^(44k). H0 and H1 move up a limb
 *    as H << 8 (< 2^56); H2 sits at weight 2^140 == 5 * 2^10 (mod p). So
 *    t0 < 2^56 and t1, t2 < 2^57 before carries.
 *  - Carries: t0 -> t1 (carry < 2^12), t1 -> t2 (< 2^14), then
 *    c = (t2 >> 42) + (H2 << 10) < 2^16 + 2^58 folds into t0 as 5c < 2^61
 *    (t0 < 2^61 + 2^44), and one more carry t0 -> t1 (< 2^18). Out: h0 < 2^44,
 *    h1 < 2^44 + 2^18, h2 < 2^42 -- within the entry bounds above (the
 *    one-block step has L_k < 3 * 2^52 and ends with h1 < 2^44 + 2^14).
 *  - Final: two full carry rounds leave h < 2^130 + 2^88 < 2p; one
 *    conditional subtraction of p, selected by a mask, gives h mod p.
 *
 * Constant time: branches and addresses depend only on lengths, lane counts
 * and pointers; tags are compared with wg_ct_equal. Key material on the
 * stack is wiped before returning.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/chachapoly_mb.h"
#include "crypto/ct.h"

#if defined(__x86_64__) && !defined(WG_NO_MB)

#include <immintrin.h>

bool
wg_mb_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512ifma");
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512ifma")

#define MB_INLINE static inline __attribute__((always_inline))

static const uint8_t mb_zero_key[WG_AEAD_KEY_LEN];
static uint8_t mb_sink[64] __attribute__((aligned(64)));

/* out[j][i] = in[i][j] for a 16x16 matrix of 32-bit words; in place. */
MB_INLINE void
transpose16(__m512i m[16])
{
	__m512i t[16];
	unsigned int i, c;

	for (i = 0; i < 8; i++) {
		t[2 * i] = _mm512_unpacklo_epi32(m[2 * i], m[2 * i + 1]);
		t[2 * i + 1] = _mm512_unpackhi_epi32(m[2 * i], m[2 * i + 1]);
	}
	/* m[4i + c], 128-bit lane k: column 4k + c of rows 4i..4i+3. */
	for (i = 0; i < 4; i++) {
		m[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
		m[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
		m[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
		m[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
	}
	for (c = 0; c < 4; c++) {
		__m512i v0 = _mm512_shuffle_i32x4(m[c], m[4 + c], 0x44);
		__m512i v1 = _mm512_shuffle_i32x4(m[c], m[4 + c], 0xee);
		__m512i v2 = _mm512_shuffle_i32x4(m[8 + c], m[12 + c], 0x44);
		__m512i v3 = _mm512_shuffle_i32x4(m[8 + c], m[12 + c], 0xee);

		t[c] = _mm512_shuffle_i32x4(v0, v2, 0x88);
		t[4 + c] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
		t[8 + c] = _mm512_shuffle_i32x4(v1, v3, 0x88);
		t[12 + c] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
	}
	for (i = 0; i < 16; i++)
		m[i] = t[i];
}

#define QR(a, b, c, d)                                                                           \
	do {                                                                                     \
		a = _mm512_add_epi32(a, b);                                                      \
		d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 16);                                \
		c = _mm512_add_epi32(c, d);                                                      \
		b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 12);                                \
		a = _mm512_add_epi32(a, b);                                                      \
		d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 8);                                 \
		c = _mm512_add_epi32(c, d);                                                      \
		b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 7);                                 \
	} while (0)

/* RFC 8439 §2.3: x = block(s), sixteen lanes at once. */
MB_INLINE void
chacha_block(__m512i x[16], const __m512i s[16])
{
	__m512i x0 = s[0], x1 = s[1], x2 = s[2], x3 = s[3], x4 = s[4], x5 = s[5], x6 = s[6],
		x7 = s[7], x8 = s[8], x9 = s[9], x10 = s[10], x11 = s[11], x12 = s[12],
		x13 = s[13], x14 = s[14], x15 = s[15];
	unsigned int i;

	for (i = 0; i < 10; i++) {
		QR(x0, x4, x8, x12);
		QR(x1, x5, x9, x13);
		QR(x2, x6, x10, x14);
		QR(x3, x7, x11, x15);
		QR(x0, x5, x10, x15);
		QR(x1, x6, x11, x12);
		QR(x2, x7, x8, x13);
		QR(x3, x4, x9, x14);
	}
	x[0] = _mm512_add_epi32(x0, s[0]);
	x[1] = _mm512_add_epi32(x1, s[1]);
	x[2] = _mm512_add_epi32(x2, s[2]);
	x[3] = _mm512_add_epi32(x3, s[3]);
	x[4] = _mm512_add_epi32(x4, s[4]);
	x[5] = _mm512_add_epi32(x5, s[5]);
	x[6] = _mm512_add_epi32(x6, s[6]);
	x[7] = _mm512_add_epi32(x7, s[7]);
	x[8] = _mm512_add_epi32(x8, s[8]);
	x[9] = _mm512_add_epi32(x9, s[9]);
	x[10] = _mm512_add_epi32(x10, s[10]);
	x[11] = _mm512_add_epi32(x11, s[11]);
	x[12] = _mm512_add_epi32(x12, s[12]);
	x[13] = _mm512_add_epi32(x13, s[13]);
	x[14] = _mm512_add_epi32(x14, s[14]);
	x[15] = _mm512_add_epi32(x15, s[15]);
}

/* A Poly1305 key r (or a power of r) in radix 2^44, with s_k = 20 * r_k. */
struct pkey {
	__m512i r0, r1, r2, s1, s2;
};

/* Eight Poly1305 accumulators, their keys and lengths, radix 2^44. */
struct poly8 {
	__m512i h0, h1, h2;
	struct pkey k[4];       /* r, r^2, r^3, r^4 (powers only for four-block steps) */
	__m512i len;            /* message length of each lane, 64-bit */
};

#define M44 _mm512_set1_epi64((1LL << 44) - 1)
#define M42 _mm512_set1_epi64((1LL << 42) - 1)

/* Column sums of (a0, a1, a2) * k added to l (low halves) and u (high halves). */
MB_INLINE void
mul_acc(__m512i l[3], __m512i u[3], __m512i a0, __m512i a1, __m512i a2, const struct pkey *k)
{
	l[0] = _mm512_madd52lo_epu64(l[0], a0, k->r0);
	u[0] = _mm512_madd52hi_epu64(u[0], a0, k->r0);
	l[1] = _mm512_madd52lo_epu64(l[1], a0, k->r1);
	u[1] = _mm512_madd52hi_epu64(u[1], a0, k->r1);
	l[2] = _mm512_madd52lo_epu64(l[2], a0, k->r2);
	u[2] = _mm512_madd52hi_epu64(u[2], a0, k->r2);
	l[0] = _mm512_madd52lo_epu64(l[0], a1, k->s2);
	u[0] = _mm512_madd52hi_epu64(u[0], a1, k->s2);
	l[1] = _mm512_madd52lo_epu64(l[1], a1, k->r0);
	u[1] = _mm512_madd52hi_epu64(u[1], a1, k->r0);
	l[2] = _mm512_madd52lo_epu64(l[2], a1, k->r1);
	u[2] = _mm512_madd52hi_epu64(u[2], a1, k->r1);
	l[0] = _mm512_madd52lo_epu64(l[0], a2, k->s1);
	u[0] = _mm512_madd52hi_epu64(u[0], a2, k->s1);
	l[1] = _mm512_madd52lo_epu64(l[1], a2, k->s2);
	u[1] = _mm512_madd52hi_epu64(u[1], a2, k->s2);
	l[2] = _mm512_madd52lo_epu64(l[2], a2, k->r0);
	u[2] = _mm512_madd52hi_epu64(u[2], a2, k->r0);
}

/* Carry the column sums into limbs (bounds in the comment at the top). */
MB_INLINE void
carry(const __m512i l[3], const __m512i u[3], __m512i *h0, __m512i *h1, __m512i *h2)
{
	__m512i t0, t1, t2, c;

	t0 = l[0];
	t1 = _mm512_add_epi64(l[1], _mm512_slli_epi64(u[0], 8));
	t2 = _mm512_add_epi64(l[2], _mm512_slli_epi64(u[1], 8));
	c = _mm512_srli_epi64(t0, 44);
	t0 = _mm512_and_si512(t0, M44);
	t1 = _mm512_add_epi64(t1, c);
	c = _mm512_srli_epi64(t1, 44);
	t1 = _mm512_and_si512(t1, M44);
	t2 = _mm512_add_epi64(t2, c);
	c = _mm512_add_epi64(_mm512_srli_epi64(t2, 42), _mm512_slli_epi64(u[2], 10));
	t2 = _mm512_and_si512(t2, M42);
	t0 = _mm512_add_epi64(t0, _mm512_add_epi64(c, _mm512_slli_epi64(c, 2)));
	c = _mm512_srli_epi64(t0, 44);
	*h0 = _mm512_and_si512(t0, M44);
	*h1 = _mm512_add_epi64(t1, c);
	*h2 = t2;
}

/*
 * The three limbs of a 16-byte block (lo, hi: its 64-bit halves) plus pad,
 * which is 2^128 as limb 2 sees it (2^40) for a full block, 0 for a raw
 * final block that carries its own 0x01 byte.
 */
MB_INLINE void
limbs_pad(__m512i lo, __m512i hi, __m512i pad, __m512i *m0, __m512i *m1, __m512i *m2)
{
	*m0 = _mm512_and_si512(lo, M44);
	*m1 = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(lo, 44),
					       _mm512_slli_epi64(hi, 20)), M44);
	*m2 = _mm512_or_si512(_mm512_srli_epi64(hi, 24), pad);
}

#define PAD128 _mm512_set1_epi64(1LL << 40)

MB_INLINE void
limbs(__m512i lo, __m512i hi, __m512i *m0, __m512i *m1, __m512i *m2)
{
	limbs_pad(lo, hi, PAD128, m0, m1, m2);
}

MB_INLINE void
make_key(struct pkey *k, __m512i r0, __m512i r1, __m512i r2)
{
	k->r0 = r0;
	k->r1 = r1;
	k->r2 = r2;
	k->s1 = _mm512_add_epi64(_mm512_slli_epi64(r1, 4), _mm512_slli_epi64(r1, 2));
	k->s2 = _mm512_add_epi64(_mm512_slli_epi64(r2, 4), _mm512_slli_epi64(r2, 2));
}

/* h = (h + block) * r in the lanes of active. */
MB_INLINE void
poly_block_pad(struct poly8 *p, __m512i lo, __m512i hi, __m512i pad, __mmask8 active)
{
	__m512i l[3] = { _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512() };
	__m512i u[3] = { l[0], l[0], l[0] };
	__m512i m0, m1, m2, h0, h1, h2;

	limbs_pad(lo, hi, pad, &m0, &m1, &m2);
	mul_acc(l, u, _mm512_add_epi64(p->h0, m0), _mm512_add_epi64(p->h1, m1),
		_mm512_add_epi64(p->h2, m2), &p->k[0]);
	carry(l, u, &h0, &h1, &h2);
	p->h0 = _mm512_mask_mov_epi64(p->h0, active, h0);
	p->h1 = _mm512_mask_mov_epi64(p->h1, active, h1);
	p->h2 = _mm512_mask_mov_epi64(p->h2, active, h2);
}

MB_INLINE void
poly_block(struct poly8 *p, __m512i lo, __m512i hi, __mmask8 active)
{
	poly_block_pad(p, lo, hi, PAD128, active);
}

/*
 * Four blocks at once, h = (h + b0) r^4 + b1 r^3 + b2 r^2 + b3 r: the same
 * value as four poly_block steps, with four independent products summed
 * before one carry chain. lo[q], hi[q]: block q.
 */
MB_INLINE void
poly_block4(struct poly8 *p, const __m512i lo[4], const __m512i hi[4], __mmask8 active)
{
	__m512i l[3] = { _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512() };
	__m512i u[3] = { l[0], l[0], l[0] };
	__m512i m0, m1, m2, h0, h1, h2;
	unsigned int q;

	limbs(lo[0], hi[0], &m0, &m1, &m2);
	mul_acc(l, u, _mm512_add_epi64(p->h0, m0), _mm512_add_epi64(p->h1, m1),
		_mm512_add_epi64(p->h2, m2), &p->k[3]);
	for (q = 1; q < 4; q++) {
		limbs(lo[q], hi[q], &m0, &m1, &m2);
		mul_acc(l, u, m0, m1, m2, &p->k[3 - q]);
	}
	carry(l, u, &h0, &h1, &h2);
	p->h0 = _mm512_mask_mov_epi64(p->h0, active, h0);
	p->h1 = _mm512_mask_mov_epi64(p->h1, active, h1);
	p->h2 = _mm512_mask_mov_epi64(p->h2, active, h2);
}

/* k[dst] = k[a] * k[b] mod p (carried, not fully reduced). */
MB_INLINE void
key_mul(struct poly8 *p, unsigned int dst, unsigned int a, unsigned int b)
{
	__m512i l[3] = { _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512() };
	__m512i u[3] = { l[0], l[0], l[0] };
	__m512i h0, h1, h2;

	mul_acc(l, u, p->k[a].r0, p->k[a].r1, p->k[a].r2, &p->k[b]);
	carry(l, u, &h0, &h1, &h2);
	make_key(&p->k[dst], h0, h1, h2);
}

MB_INLINE void
poly_powers(struct poly8 *p)
{
	key_mul(p, 1, 0, 0);
	key_mul(p, 2, 1, 0);
	key_mul(p, 3, 1, 1);
}

/* r from words w0..w3 of block 0 (already clamped, in this half's lane order). */
MB_INLINE void
poly_init(struct poly8 *p, __m512i rlo, __m512i rhi, __m512i len)
{
	make_key(&p->k[0], _mm512_and_si512(rlo, M44),
		 _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(rlo, 44),
						  _mm512_slli_epi64(rhi, 20)), M44),
		 _mm512_srli_epi64(rhi, 24));
	p->h0 = p->h1 = p->h2 = _mm512_setzero_si512();
	p->len = len;
}

/* Full reduction of h, + s: the tag halves of each lane. */
MB_INLINE void
poly_finish(struct poly8 *p, __m512i slo, __m512i shi, __m512i *tlo, __m512i *thi)
{
	const __m512i five = _mm512_set1_epi64(5);
	__m512i h0, h1, h2, g0, g1, g2, c, lo, hi;
	__mmask8 ge, carry;
	unsigned int i;

	h0 = p->h0;
	h1 = p->h1;
	h2 = p->h2;
	for (i = 0; i < 2; i++) {
		c = _mm512_srli_epi64(h1, 44);
		h1 = _mm512_and_si512(h1, M44);
		h2 = _mm512_add_epi64(h2, c);
		c = _mm512_srli_epi64(h2, 42);
		h2 = _mm512_and_si512(h2, M42);
		h0 = _mm512_add_epi64(h0, _mm512_mullo_epi64(c, five));
		c = _mm512_srli_epi64(h0, 44);
		h0 = _mm512_and_si512(h0, M44);
		h1 = _mm512_add_epi64(h1, c);
	}
	/* g = h + 5 - 2^130; h >= p exactly when g does not go negative. */
	g0 = _mm512_add_epi64(h0, five);
	c = _mm512_srli_epi64(g0, 44);
	g0 = _mm512_and_si512(g0, M44);
	g1 = _mm512_add_epi64(h1, c);
	c = _mm512_srli_epi64(g1, 44);
	g1 = _mm512_and_si512(g1, M44);
	g2 = _mm512_add_epi64(h2, c);
	ge = _mm512_cmpge_epu64_mask(g2, _mm512_set1_epi64(1LL << 42));
	g2 = _mm512_sub_epi64(g2, _mm512_set1_epi64(1LL << 42));
	h0 = _mm512_mask_mov_epi64(h0, ge, g0);
	h1 = _mm512_mask_mov_epi64(h1, ge, g1);
	h2 = _mm512_mask_mov_epi64(h2, ge, g2);

	lo = _mm512_add_epi64(h0, _mm512_slli_epi64(h1, 44));
	hi = _mm512_add_epi64(_mm512_srli_epi64(h1, 20), _mm512_slli_epi64(h2, 24));
	lo = _mm512_add_epi64(lo, slo);
	carry = _mm512_cmplt_epu64_mask(lo, slo);
	hi = _mm512_add_epi64(hi, shi);
	hi = _mm512_mask_add_epi64(hi, carry, hi, _mm512_set1_epi64(1));
	*tlo = lo;
	*thi = hi;
}

/* AEAD: the length block le64(0) || le64(len), then the tag (RFC 8439 §2.8). */
MB_INLINE void
poly_final(struct poly8 *p, __m512i slo, __m512i shi, __m512i *tlo, __m512i *thi)
{
	poly_block(p, _mm512_setzero_si512(), p->len, 0xff);
	poly_finish(p, slo, shi, tlo, thi);
}

/*
 * Poly1305 over the four 16-byte blocks of a pass for one half (hi_half: the
 * lanes unpackhi selects), data in word-per-vector layout. A lane takes block
 * q while 16 q lies below its remaining length; when every lane of the half
 * takes all four blocks or none, one four-block step does it.
 */
MB_INLINE void
poly_half(struct poly8 *p, const __m512i w[16], uint32_t pass, bool hi_half)
{
	const __m512i off = _mm512_set1_epi64((long long)(64 * pass));
	__mmask8 k0 = _mm512_cmpgt_epu64_mask(p->len, off);
	__mmask8 k3 = _mm512_cmpgt_epu64_mask(p->len, _mm512_add_epi64(off, _mm512_set1_epi64(48)));
	__m512i lo[4], hi[4];
	unsigned int q;

	if (k0 == 0)
		return;
	for (q = 0; q < 4; q++) {
		lo[q] = hi_half ? _mm512_unpackhi_epi32(w[4 * q], w[4 * q + 1])
				: _mm512_unpacklo_epi32(w[4 * q], w[4 * q + 1]);
		hi[q] = hi_half ? _mm512_unpackhi_epi32(w[4 * q + 2], w[4 * q + 3])
				: _mm512_unpacklo_epi32(w[4 * q + 2], w[4 * q + 3]);
	}
	if (k0 == k3) {
		poly_block4(p, lo, hi, k0);
		return;
	}
	for (q = 0; q < 4; q++) {
		__mmask8 k = _mm512_cmpgt_epu64_mask(p->len,
			_mm512_add_epi64(off, _mm512_set1_epi64(16 * (long long)q)));

		if (k != 0)
			poly_block(p, lo[q], hi[q], k);
	}
}

MB_INLINE void
poly_pass(struct poly8 *pa, struct poly8 *pb, const __m512i w[16], uint32_t pass)
{
	poly_half(pa, w, pass, false);
	poly_half(pb, w, pass, true);
}

/* Bytes of lane l in this pass as a load/store mask. */
static inline __mmask64
lane_mask(uint32_t len, uint32_t pass)
{
	uint32_t off = 64 * pass;

	if (len >= off + 64)
		return ~(__mmask64)0;
	if (len <= off)
		return 0;
	return ((__mmask64)1 << (len - off)) - 1;
}

/* Per-lane poly accumulator half (0: lanes 0,1,4,5,..; 1: lanes 2,3,6,7,..) and index. */
static inline void
poly_lane(unsigned int lane, unsigned int *half, unsigned int *idx)
{
	*half = (lane >> 1) & 1;
	*idx = (lane >> 2) * 2 + (lane & 1);
}

enum mb_mode { MB_ENCRYPT, MB_DECRYPT, MB_STREAM };

/*
 * The AEAD (ops, MB_ENCRYPT / MB_DECRYPT) or plain ChaCha20 (raw, MB_STREAM:
 * RFC 8439 §2.4 with any 96-bit nonce and first block counter, for tests).
 * Always inlined into one function per mode, so the AEAD paths carry
 * nothing of the stream mode.
 */
MB_INLINE unsigned int
mb_core(struct wg_aead_op *const *ops, struct wg_mb_stream *const *raw, unsigned int n,
	enum mb_mode mode)
{
	const bool encrypt = mode == MB_ENCRYPT, aead = mode != MB_STREAM;
	__m512i s[16], x[16], d[16], s12;
	struct poly8 pa, pb;
	uint8_t *ptr[WG_MB_LANES];
	uint32_t len[WG_MB_LANES] __attribute__((aligned(64)));
	__mmask64 mask[WG_MB_LANES];
	uint64_t tag[2][2][8] __attribute__((aligned(64)));   /* [half][lo/hi][idx] */
	__m512i slo_a, shi_a, slo_b, shi_b;
	__m512i len32, tlo, thi;
	uint32_t maxlen = 0, passes, p;
	unsigned int l, ok = 0;
	bool tail;

	for (l = 0; l < WG_MB_LANES; l++) {
		const __m512i kidx = _mm512_set_epi32(0, 0, 0, 0, 7, 6, 5, 4, 3, 2, 1, 0,
						      0, 0, 0, 0);
		__m512i row = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					       0x6b206574, 0x79622d32, 0x3320646e, 0x61707865);
		const uint8_t *key = mb_zero_key, *data = NULL;
		uint32_t w[16] = { 0 };

		len[l] = 0;
		if (l < n && aead) {
			const struct wg_aead_op *op = ops[l];

			key = op->key;
			data = op->data;
			len[l] = op->len;
			/* Words 14, 15: the WireGuard nonce's counter (word 13 is the zero prefix). */
			row = _mm512_mask_set1_epi64(row, 0x80, (long long)op->counter);
		} else if (l < n) {
			const struct wg_mb_stream *r = raw[l];

			key = r->key;
			data = r->data;
			len[l] = r->len;
			w[12] = r->counter;
			memcpy(&w[13], r->nonce, 12);
			row = _mm512_mask_loadu_epi32(row, 0xf000, w);
		}
		row = _mm512_mask_permutexvar_epi32(row, 0x0ff0, kidx,
			_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)key)));
		s[l] = row;
		ptr[l] = data != NULL && len[l] > 0 ? (uint8_t *)data : mb_sink;
		if (len[l] > maxlen)
			maxlen = len[l];
	}
	transpose16(s);
	s12 = s[12];
	passes = (maxlen + 63) / 64;
	len32 = _mm512_load_si512(len);
	slo_a = shi_a = slo_b = shi_b = _mm512_setzero_si512();

	if (aead) {
		/* Block 0: the Poly1305 one-time key (RFC 8439 §2.6). */
		chacha_block(x, s);
		x[0] = _mm512_and_si512(x[0], _mm512_set1_epi32(0x0fffffff));
		x[1] = _mm512_and_si512(x[1], _mm512_set1_epi32(0x0ffffffc));
		x[2] = _mm512_and_si512(x[2], _mm512_set1_epi32(0x0ffffffc));
		x[3] = _mm512_and_si512(x[3], _mm512_set1_epi32(0x0ffffffc));
		poly_init(&pa, _mm512_unpacklo_epi32(x[0], x[1]), _mm512_unpacklo_epi32(x[2], x[3]),
			  _mm512_unpacklo_epi32(len32, _mm512_setzero_si512()));
		poly_init(&pb, _mm512_unpackhi_epi32(x[0], x[1]), _mm512_unpackhi_epi32(x[2], x[3]),
			  _mm512_unpackhi_epi32(len32, _mm512_setzero_si512()));
		/* s, the second half of the one-time key, until the end. */
		slo_a = _mm512_unpacklo_epi32(x[4], x[5]);
		shi_a = _mm512_unpacklo_epi32(x[6], x[7]);
		slo_b = _mm512_unpackhi_epi32(x[4], x[5]);
		shi_b = _mm512_unpackhi_epi32(x[6], x[7]);
		/* Powers of r: three products per half, off the critical path (they overlap ChaCha20). */
		poly_powers(&pa);
		poly_powers(&pb);
	}
	for (p = 0; p < passes; p++) {
		s[12] = _mm512_add_epi32(s12, _mm512_set1_epi32((int)(p + aead)));
		chacha_block(x, s);
		tail = false;
		for (l = 0; l < WG_MB_LANES; l++) {
			/*
			 * Full blocks load plainly; a lane that has ended gets zeros
			 * without touching memory (a masked load past a mapping costs
			 * a microcode assist even with an empty mask).
			 */
			mask[l] = lane_mask(len[l], p);
			if (mask[l] == ~(__mmask64)0) {
				d[l] = _mm512_loadu_si512(ptr[l] + 64 * p);
			} else if (mask[l] == 0) {
				d[l] = _mm512_setzero_si512();
			} else {
				tail = true;
				d[l] = _mm512_maskz_loadu_epi8(mask[l], ptr[l] + 64 * p);
			}
		}
		transpose16(d);
		if (mode == MB_DECRYPT)
			poly_pass(&pa, &pb, d, p);
		for (l = 0; l < 16; l++)
			d[l] = _mm512_xor_si512(d[l], x[l]);
		if (mode == MB_ENCRYPT) {
			if (tail) {
				/* Zero the keystream past each lane's end: Poly1305 pads with zeros. */
				const __m512i rem = _mm512_sub_epi32(len32,
						_mm512_set1_epi32((int)(64 * p)));
				const __m512i ones = _mm512_set1_epi32(-1);

				for (l = 0; l < 16; l++) {
					__m512i v = _mm512_sub_epi32(rem, _mm512_set1_epi32(4 * (int)l));

					v = _mm512_min_epi32(_mm512_max_epi32(v, _mm512_setzero_si512()),
							     _mm512_set1_epi32(4));
					v = _mm512_sllv_epi32(ones, _mm512_slli_epi32(v, 3));
					d[l] = _mm512_andnot_si512(v, d[l]);
				}
			}
			poly_pass(&pa, &pb, d, p);
		}
		transpose16(d);
		for (l = 0; l < WG_MB_LANES; l++) {
			if (mask[l] == ~(__mmask64)0)
				_mm512_storeu_si512(ptr[l] + 64 * p, d[l]);
			else if (mask[l] != 0)
				_mm512_mask_storeu_epi8(ptr[l] + 64 * p, mask[l], d[l]);
		}
	}

	if (!aead)
		return 0;
	poly_final(&pa, slo_a, shi_a, &tlo, &thi);
	_mm512_store_si512(tag[0][0], tlo);
	_mm512_store_si512(tag[0][1], thi);
	poly_final(&pb, slo_b, shi_b, &tlo, &thi);
	_mm512_store_si512(tag[1][0], tlo);
	_mm512_store_si512(tag[1][1], thi);

	for (l = 0; l < n; l++) {
		struct wg_aead_op *op = ops[l];
		unsigned int half, idx;
		__m128i t, diff;

		poly_lane(l, &half, &idx);
		t = _mm_set_epi64x((long long)tag[half][1][idx], (long long)tag[half][0][idx]);
		if (encrypt) {
			_mm_storeu_si128((__m128i *)op->tag, t);
			continue;
		}
		/* Constant time: one XOR and one test over all sixteen bytes. */
		diff = _mm_xor_si128(t, _mm_loadu_si128((const __m128i *)op->tag));
		op->ok = _mm_testz_si128(diff, diff) != 0;
		if (!op->ok && op->len > 0)
			wg_memzero(op->data, op->len);
		ok += op->ok;
	}

	return ok;
}

/*
 * mb_core keeps keys, keystream and Poly1305 state in registers and spills
 * some of them to its frame. Wiping named arrays inside it would pin them to
 * memory for the whole loop; instead, once it has returned, a function called
 * from the same frame (or a caller's) zeroes a stack area that covers
 * mb_core's frame: about 9.7 KB with gcc 12 -O3 by -fstack-usage (the file is
 * always built at -O3); test_aead_mb.c fails if any key or keystream word is
 * left behind, directly or through the batch API.
 */
#ifndef MB_SCRUB_BYTES
#define MB_SCRUB_BYTES 10752
#endif

void __attribute__((noinline))
wg_mb_wipe_stack(void)
{
	__m512i area[MB_SCRUB_BYTES / 64];
	unsigned int i;

	for (i = 0; i < MB_SCRUB_BYTES / 64; i++)
		_mm512_store_si512(&area[i], _mm512_setzero_si512());
	__asm__ volatile("" : : "r"(area) : "memory");
	_mm256_zeroall();
}

static __attribute__((noinline)) void
mb_encrypt(struct wg_aead_op *const *ops, unsigned int n)
{
	mb_core(ops, NULL, n, MB_ENCRYPT);
}

static __attribute__((noinline)) unsigned int
mb_decrypt(struct wg_aead_op *const *ops, unsigned int n)
{
	return mb_core(ops, NULL, n, MB_DECRYPT);
}

static __attribute__((noinline)) void
mb_stream(struct wg_mb_stream *const *raw, unsigned int n)
{
	mb_core(NULL, raw, n, MB_STREAM);
}

void
wg_mb_encrypt_nowipe(struct wg_aead_op *const *ops, unsigned n)
{
	mb_encrypt(ops, n);
}

unsigned
wg_mb_decrypt_nowipe(struct wg_aead_op *const *ops, unsigned n)
{
	return mb_decrypt(ops, n);
}

void
wg_mb_encrypt(struct wg_aead_op *const *ops, unsigned n)
{
	mb_encrypt(ops, n);
	wg_mb_wipe_stack();
}

unsigned
wg_mb_decrypt(struct wg_aead_op *const *ops, unsigned n)
{
	unsigned ok = mb_decrypt(ops, n);

	wg_mb_wipe_stack();
	return ok;
}

void
wg_mb_chacha20(struct wg_mb_stream *const *v, unsigned n)
{
	mb_stream(v, n);
	wg_mb_wipe_stack();
}

/*
 * Plain Poly1305 (RFC 8439 §2.5) through the same limb arithmetic, for
 * tests: lane l in half l / 8, index l % 8; a final partial block carries
 * its own 0x01 byte and no 2^128 bit. Not on the data path.
 */
static __attribute__((noinline)) void
mb_poly(struct wg_mb_mac *const *v, unsigned int n)
{
	uint64_t lo[2][8] __attribute__((aligned(64))), hi[2][8] __attribute__((aligned(64)));
	uint64_t pad[2][8] __attribute__((aligned(64)));
	uint64_t out[2][2][8] __attribute__((aligned(64)));
	struct poly8 ph[2];
	uint32_t maxlen = 0, b;
	unsigned int l, h;

	memset(lo, 0, sizeof(lo));
	memset(hi, 0, sizeof(hi));
	for (l = 0; l < WG_MB_LANES; l++) {
		uint64_t k[4] = { 0, 0, 0, 0 };

		if (l < n) {
			memcpy(k, v[l]->key, 32);
			if (v[l]->len > maxlen)
				maxlen = v[l]->len;
		}
		lo[l / 8][l % 8] = k[0] & 0x0ffffffc0fffffffULL;
		hi[l / 8][l % 8] = k[1] & 0x0ffffffc0ffffffcULL;
		out[l / 8][0][l % 8] = k[2];
		out[l / 8][1][l % 8] = k[3];
		wg_memzero(k, sizeof(k));
	}
	for (h = 0; h < 2; h++)
		poly_init(&ph[h], _mm512_load_si512(lo[h]), _mm512_load_si512(hi[h]),
			  _mm512_setzero_si512());
	for (b = 0; b < (maxlen + 15) / 16; b++) {
		__mmask8 active[2] = { 0, 0 };

		for (l = 0; l < WG_MB_LANES; l++) {
			uint8_t blk[16] = { 0 };
			uint32_t rem = l < n && v[l]->len > 16 * b ? v[l]->len - 16 * b : 0;

			pad[l / 8][l % 8] = 1ULL << 40;
			if (rem >= 16) {
				memcpy(blk, v[l]->msg + 16 * b, 16);
			} else if (rem > 0) {
				memcpy(blk, v[l]->msg + 16 * b, rem);
				blk[rem] = 1;
				pad[l / 8][l % 8] = 0;
			}
			if (rem > 0)
				active[l / 8] |= (__mmask8)(1u << (l % 8));
			memcpy(&lo[l / 8][l % 8], blk, 8);
			memcpy(&hi[l / 8][l % 8], blk + 8, 8);
		}
		for (h = 0; h < 2; h++)
			poly_block_pad(&ph[h], _mm512_load_si512(lo[h]), _mm512_load_si512(hi[h]),
				       _mm512_load_si512(pad[h]), active[h]);
	}
	for (h = 0; h < 2; h++) {
		__m512i tlo, thi;

		poly_finish(&ph[h], _mm512_load_si512(out[h][0]), _mm512_load_si512(out[h][1]),
			    &tlo, &thi);
		_mm512_store_si512(out[h][0], tlo);
		_mm512_store_si512(out[h][1], thi);
	}
	for (l = 0; l < n; l++) {
		memcpy(v[l]->tag, &out[l / 8][0][l % 8], 8);
		memcpy(v[l]->tag + 8, &out[l / 8][1][l % 8], 8);
	}
	wg_memzero(lo, sizeof(lo));
	wg_memzero(hi, sizeof(hi));
	wg_memzero(out, sizeof(out));
	wg_memzero(ph, sizeof(ph));
}

void
wg_mb_poly1305(struct wg_mb_mac *const *v, unsigned n)
{
	mb_poly(v, n);
	wg_mb_wipe_stack();
}

#pragma GCC pop_options

#else /* no multi-buffer code in this build */

bool
wg_mb_available(void)
{
	return false;
}

/* Never called: wg_mb_available() is false and aead.c checks it. */
void
wg_mb_encrypt(struct wg_aead_op *const *ops, unsigned n)
{
	(void)ops;
	(void)n;
	abort();
}

unsigned
wg_mb_decrypt(struct wg_aead_op *const *ops, unsigned n)
{
	(void)ops;
	(void)n;
	abort();
}

void
wg_mb_chacha20(struct wg_mb_stream *const *v, unsigned n)
{
	(void)v;
	(void)n;
	abort();
}

void
wg_mb_encrypt_nowipe(struct wg_aead_op *const *ops, unsigned n)
{
	(void)ops;
	(void)n;
	abort();
}

unsigned
wg_mb_decrypt_nowipe(struct wg_aead_op *const *ops, unsigned n)
{
	(void)ops;
	(void)n;
	abort();
}

void
wg_mb_wipe_stack(void)
{
}

void
wg_mb_poly1305(struct wg_mb_mac *const *v, unsigned n)
{
	(void)v;
	(void)n;
	abort();
}

#endif
