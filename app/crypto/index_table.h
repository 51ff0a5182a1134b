/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A simple receiver-index table for a single-threaded control plane and the
 * tests: open addressing over random 32-bit indices, redrawn until unused,
 * growing to stay at most half full. Its operations are exported as a
 * struct noise_index_ops for wg_noise_local_init().
 *
 * Not safe against concurrent readers: a data plane that reads indices on
 * other threads needs an RCU-safe table behind the same ops.
 */
#ifndef WG_INDEX_TABLE_H
#define WG_INDEX_TABLE_H

#include <stdint.h>

#include "crypto/noise.h"

struct wg_index_table;

/* Room for capacity_hint entries before the first growth. NULL on failure. */
struct wg_index_table *wg_index_table_create(uint32_t capacity_hint);
void wg_index_table_destroy(struct wg_index_table *t);
uint32_t wg_index_table_count(const struct wg_index_table *t);

int wg_index_table_insert(struct wg_index_table *t, struct noise_index_entry *e);
int wg_index_table_insert_at(struct wg_index_table *t, struct noise_index_entry *e,
			     uint32_t index);
void wg_index_table_replace(struct wg_index_table *t, struct noise_index_entry *old_e,
			    struct noise_index_entry *new_e);
void wg_index_table_remove(struct wg_index_table *t, struct noise_index_entry *e);
struct noise_index_entry *wg_index_table_lookup(const struct wg_index_table *t, uint32_t index,
						unsigned int type_mask);

/* The functions above as noise ops (pass the struct wg_index_table as the table). */
extern const struct noise_index_ops wg_index_table_ops;

#endif
