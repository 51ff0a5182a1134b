/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

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
