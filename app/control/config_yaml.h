/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A thin layer over the libyaml event parser for the configuration loader:
 * one current event, the key path of the node being read, positioned
 * one-line errors and warnings, and walkers for mappings (known keys,
 * duplicates, required keys) and sequences.
 */
#ifndef WG_CONFIG_YAML_H
#define WG_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

enum {
	WG_YAML_PATH_MAX = 256,
	WG_YAML_QUOTE_MAX = 64,		/* longest value echoed in a message */
};

struct wg_yaml {
	yaml_parser_t parser;
	yaml_event_t ev;		/* the current event, valid when have_ev */
	bool have_ev;
	bool parser_ready;
	int fd;				/* file input, or -1 */
	const unsigned char *buf;	/* memory input, or NULL */
	size_t len;
	const char *file;		/* name used in messages */
	FILE *err;			/* NULL: print nothing */
	size_t path_len;
	char path[WG_YAML_PATH_MAX];
	char quote[WG_YAML_QUOTE_MAX + 8];
};

/* What a mapping walker calls for a known key; the current event is the value's first. */
typedef int (*wg_yaml_value_fn)(struct wg_yaml *y, void *ctx);
/* What a sequence walker calls for each item; the current event is the item's first. */
typedef int (*wg_yaml_item_fn)(struct wg_yaml *y, void *ctx, uint32_t index);

struct wg_yaml_field {
	const char *key;
	wg_yaml_value_fn parse;
	bool required;
};

/* Read from an open file descriptor, owned from now on (closed by close, or on failure). */
int wg_config_yaml_open_fd(struct wg_yaml *y, const char *file, int fd, FILE *err);
/* Read from memory (not copied; must outlive y). */
int wg_config_yaml_open_buffer(struct wg_yaml *y, const char *file, const void *buf, size_t len,
	FILE *err);
/* Free the parser, wiping its input buffers (they held key text). */
void wg_config_yaml_close(struct wg_yaml *y);

/* Advance to the next event; -1 after printing a syntax error. Aliases are refused. */
int wg_config_yaml_next(struct wg_yaml *y) __attribute__((warn_unused_result));

/* Print "FILE:LINE:COL: PATH: message" and return -1. */
int wg_config_yaml_error(struct wg_yaml *y, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print "FILE:LINE:COL: warning: PATH: message". */
void wg_config_yaml_warn(struct wg_yaml *y, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Error at the current event's start. */
#define wg_config_yaml_fail(y, ...) wg_config_yaml_error((y), &(y)->ev.start_mark, __VA_ARGS__)

/* Append ".key" (or "key" at the root) or "[index]"; return the length to restore. */
size_t wg_config_yaml_push_key(struct wg_yaml *y, const char *key);
size_t wg_config_yaml_push_index(struct wg_yaml *y, uint32_t index);
void wg_config_yaml_pop(struct wg_yaml *y, size_t len);

/*
 * Walk the mapping that starts at the current event, calling fields[i].parse
 * for each key; unknown keys, duplicate keys, non-scalar keys and missing
 * required keys are errors. On success the current event is MAPPING-END and
 * *seen (may be NULL) has bit i set for each key present (n <= 32).
 */
int wg_config_yaml_mapping(struct wg_yaml *y, const struct wg_yaml_field *fields, size_t n,
	void *ctx, uint32_t *seen) __attribute__((warn_unused_result));
/* Walk a sequence (or a null value, as an empty one) calling item for each. */
int wg_config_yaml_sequence(struct wg_yaml *y, wg_yaml_item_fn item, void *ctx)
	__attribute__((warn_unused_result));

/* The current scalar's text, or NULL after an error "expected a single value". */
const char *wg_config_yaml_scalar(struct wg_yaml *y);
/* true for an empty plain scalar, "~", "null", "Null" or "NULL". */
bool wg_config_yaml_is_null(const struct wg_yaml *y);
/* The current scalar's length in bytes (0 unless it is a scalar). */
size_t wg_config_yaml_length(const struct wg_yaml *y);
/* Wipe the current scalar's text (it held a secret). */
void wg_config_yaml_wipe(struct wg_yaml *y);
/* s, shortened and with unprintable bytes replaced, for a message; valid until the next call. */
const char *wg_config_yaml_quote(struct wg_yaml *y, const char *s);

#endif
