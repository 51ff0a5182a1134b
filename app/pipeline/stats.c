/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "control/engine_peer.h"
#include "stats.h"

struct wg_lcore_stats wg_stats[RTE_MAX_LCORE];

#define DROP_NAME(name, desc) #name,
static const char *const drop_names[WG_DROP_MAX] = {
	WG_DROP_REASONS(DROP_NAME)
};
#undef DROP_NAME

#define DROP_DESC(name, desc) desc,
static const char *const drop_descs[WG_DROP_MAX] = {
	WG_DROP_REASONS(DROP_DESC)
};
#undef DROP_DESC

#define CNT_NAME(name) #name,
static const char *const counter_names[WG_CNT_MAX] = {
	WG_COUNTERS(CNT_NAME)
};
#undef CNT_NAME

/* Index + 1 in the peer's counters, 0 for the reasons that are not per peer. */
#define PEER_SLOT(name) [WG_DROP_##name] = WG_PEER_DROP_##name + 1,
static const uint8_t peer_slot[WG_DROP_MAX] = {
	WG_PEER_DROP_REASONS(PEER_SLOT)
};
#undef PEER_SLOT

#define PEER_REASON(name) WG_DROP_##name,
static const uint8_t peer_reason[WG_PEER_DROP_MAX] = {
	WG_PEER_DROP_REASONS(PEER_REASON)
};
#undef PEER_REASON

_Static_assert((int)WG_PEER_DROP_MAX == (int)WG_PEER_DROP_SLOTS,
	"struct wg_peer_worker holds one counter per peer drop reason");
_Static_assert(WG_DROP_MAX <= UINT8_MAX, "drop reasons fit the peer tables");

int
wg_stats_peer_index(enum wg_drop_reason r)
{
	return (unsigned int)r < WG_DROP_MAX ? (int)peer_slot[r] - 1 : -1;
}

enum wg_drop_reason
wg_stats_peer_reason(unsigned int i)
{
	return i < WG_PEER_DROP_MAX ? (enum wg_drop_reason)peer_reason[i] : WG_DROP_MAX;
}

const char *
wg_stats_drop_name(enum wg_drop_reason r)
{
	return (unsigned int)r < WG_DROP_MAX ? drop_names[r] : NULL;
}

const char *
wg_stats_drop_desc(enum wg_drop_reason r)
{
	return (unsigned int)r < WG_DROP_MAX ? drop_descs[r] : NULL;
}

const char *
wg_stats_counter_name(enum wg_counter c)
{
	return (unsigned int)c < WG_CNT_MAX ? counter_names[c] : NULL;
}

void
wg_stats_read(unsigned int lcore_id, struct wg_lcore_stats *out)
{
	const struct wg_lcore_stats *s = &wg_stats[lcore_id];
	unsigned int i;

	for (i = 0; i < WG_CNT_MAX; i++)
		out->cnt[i] = __atomic_load_n(&s->cnt[i], __ATOMIC_RELAXED);
	for (i = 0; i < WG_DROP_MAX; i++)
		out->drop[i] = __atomic_load_n(&s->drop[i], __ATOMIC_RELAXED);
}

void
wg_stats_sum(struct wg_lcore_stats *out)
{
	struct wg_lcore_stats one;
	unsigned int l, i;

	memset(out, 0, sizeof(*out));
	for (l = 0; l < RTE_MAX_LCORE; l++) {
		wg_stats_read(l, &one);
		for (i = 0; i < WG_CNT_MAX; i++)
			out->cnt[i] += one.cnt[i];
		for (i = 0; i < WG_DROP_MAX; i++)
			out->drop[i] += one.drop[i];
	}
}

void
wg_stats_reset(void)
{
	memset(wg_stats, 0, sizeof(wg_stats));
}
