/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "control/config_yaml.h"
#include "crypto/ct.h"

static int
read_fd(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	struct wg_yaml *y = data;
	ssize_t n;

	do {
		n = read(y->fd, buf, size);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return 0;
	*size_read = (size_t)n;
	return 1;
}

static int
open_common(struct wg_yaml *y, const char *file, FILE *err)
{
	memset(&y->ev, 0, sizeof(y->ev));
	y->have_ev = false;
	y->file = file;
	y->err = err;
	y->path_len = 0;
	y->path[0] = '\0';
	y->parser_ready = yaml_parser_initialize(&y->parser) != 0;
	if (!y->parser_ready) {
		if (err != NULL)
			fprintf(err, "%s:1:1: (root): out of memory\n", file);
		return -1;
	}
	return 0;
}

int
wg_config_yaml_open_fd(struct wg_yaml *y, const char *file, int fd, FILE *err)
{
	y->fd = fd;
	y->buf = NULL;
	y->len = 0;
	if (open_common(y, file, err) < 0) {
		close(fd);
		y->fd = -1;
		return -1;
	}
	yaml_parser_set_input(&y->parser, read_fd, y);
	return 0;
}

int
wg_config_yaml_open_buffer(struct wg_yaml *y, const char *file, const void *buf, size_t len,
	FILE *err)
{
	y->fd = -1;
	y->buf = buf;
	y->len = len;
	if (open_common(y, file, err) < 0)
		return -1;
	yaml_parser_set_input_string(&y->parser, buf, len);
	return 0;
}

static void
wipe_buffer(void *start, void *end)
{
	if (start != NULL && end != NULL && end > start)
		wg_memzero(start, (size_t)((char *)end - (char *)start));
}

void
wg_config_yaml_close(struct wg_yaml *y)
{
	if (y->have_ev)
		yaml_event_delete(&y->ev);
	y->have_ev = false;
	if (y->parser_ready) {
		wipe_buffer(y->parser.raw_buffer.start, y->parser.raw_buffer.end);
		wipe_buffer(y->parser.buffer.start, y->parser.buffer.end);
		yaml_parser_delete(&y->parser);
		y->parser_ready = false;
	}
	if (y->fd >= 0)
		close(y->fd);
	y->fd = -1;
}

static void
vreport(struct wg_yaml *y, const yaml_mark_t *mark, const char *kind, const char *fmt,
	va_list ap)
{
	if (y->err == NULL)
		return;
	fprintf(y->err, "%s:%zu:%zu: %s%s: ", y->file, mark->line + 1, mark->column + 1, kind,
		y->path_len > 0 ? y->path : "(root)");
	vfprintf(y->err, fmt, ap);
	fputc('\n', y->err);
}

int
wg_config_yaml_error(struct wg_yaml *y, const yaml_mark_t *mark, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(y, mark, "", fmt, ap);
	va_end(ap);
	return -1;
}

void
wg_config_yaml_warn(struct wg_yaml *y, const yaml_mark_t *mark, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(y, mark, "warning: ", fmt, ap);
	va_end(ap);
}

static void
count_lines(yaml_mark_t *m, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			m->line++;
			m->column = 0;
		} else {
			m->column++;
		}
	}
}

/* The position of a byte offset of the input (reader errors carry only an offset). */
static yaml_mark_t
offset_mark(const struct wg_yaml *y, size_t offset)
{
	yaml_mark_t m = { .index = offset };
	unsigned char chunk[4096];
	size_t done = 0;
	ssize_t n;

	if (y->buf != NULL) {
		count_lines(&m, y->buf, offset < y->len ? offset : y->len);
		return m;
	}
	while (y->fd >= 0 && done < offset) {
		size_t want = offset - done < sizeof(chunk) ? offset - done : sizeof(chunk);

		n = pread(y->fd, chunk, want, (off_t)done);
		if (n <= 0)
			break;
		count_lines(&m, chunk, (size_t)n);
		done += (size_t)n;
	}
	wg_memzero(chunk, sizeof(chunk));
	return m;
}

static int
syntax_error(struct wg_yaml *y)
{
	const yaml_parser_t *p = &y->parser;
	const yaml_mark_t *mark = &p->problem_mark;
	const char *problem = p->problem != NULL ? p->problem : "invalid YAML";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return wg_config_yaml_error(y, &p->mark, "out of memory");
	case YAML_READER_ERROR: {
		yaml_mark_t at = offset_mark(y, p->problem_offset);

		return wg_config_yaml_error(y, &at, "invalid input: %s", problem);
	}
	default:
		break;
	}
	if (p->context != NULL)
		return wg_config_yaml_error(y, mark, "syntax error: %s %s", problem, p->context);
	return wg_config_yaml_error(y, mark, "syntax error: %s", problem);
}

int
wg_config_yaml_next(struct wg_yaml *y)
{
	if (y->have_ev)
		yaml_event_delete(&y->ev);
	y->have_ev = false;
	if (!yaml_parser_parse(&y->parser, &y->ev))
		return syntax_error(y);
	y->have_ev = true;
	if (y->ev.type == YAML_ALIAS_EVENT)
		return wg_config_yaml_fail(y, "aliases are not supported");
	return 0;
}

static size_t
push(struct wg_yaml *y, const char *fmt, const char *s, uint32_t index)
{
	size_t old = y->path_len, room = sizeof(y->path) - old;
	int n;

	if (fmt == NULL)
		n = snprintf(y->path + old, room, old > 0 ? ".%s" : "%s", s);
	else
		n = snprintf(y->path + old, room, fmt, index);
	if (n < 0)
		n = 0;
	y->path_len = (size_t)n < room ? old + (size_t)n : sizeof(y->path) - 1;
	return old;
}

size_t
wg_config_yaml_push_key(struct wg_yaml *y, const char *key)
{
	return push(y, NULL, key, 0);
}

size_t
wg_config_yaml_push_index(struct wg_yaml *y, uint32_t index)
{
	return push(y, "[%u]", NULL, index);
}

void
wg_config_yaml_pop(struct wg_yaml *y, size_t len)
{
	y->path_len = len;
	y->path[len] = '\0';
}

const char *
wg_config_yaml_quote(struct wg_yaml *y, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < WG_YAML_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		y->quote[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (s[i] != '\0') {
		memcpy(y->quote + i, "...", 3);
		i += 3;
	}
	y->quote[i] = '\0';
	return y->quote;
}

static int
find_field(const struct wg_yaml_field *fields, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(fields[i].key, key) == 0)
			return (int)i;
	return -1;
}

static int
check_required(struct wg_yaml *y, const yaml_mark_t *start, const struct wg_yaml_field *fields,
	size_t n, uint32_t seen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fields[i].required && !(seen & (1u << i)))
			return wg_config_yaml_error(y, start, "missing required key '%s'",
				fields[i].key);
	return 0;
}

/* Read one key and its value; the current event is the key. */
static int
mapping_entry(struct wg_yaml *y, const struct wg_yaml_field *fields, size_t n, void *ctx,
	uint32_t *seen)
{
	const char *key;
	size_t saved;
	int i, rc;

	if (y->ev.type != YAML_SCALAR_EVENT)
		return wg_config_yaml_fail(y, "expected a key");
	key = wg_config_yaml_scalar(y);
	if (key == NULL)
		return -1;
	i = find_field(fields, n, key);
	saved = wg_config_yaml_push_key(y, i < 0 ? wg_config_yaml_quote(y, key) : key);
	if (i < 0)
		return wg_config_yaml_fail(y, "unknown key");
	if (*seen & (1u << i))
		return wg_config_yaml_fail(y, "duplicate key");
	*seen |= 1u << i;
	rc = wg_config_yaml_next(y);
	if (rc == 0)
		rc = fields[i].parse(y, ctx);
	wg_config_yaml_pop(y, saved);
	return rc;
}

int
wg_config_yaml_mapping(struct wg_yaml *y, const struct wg_yaml_field *fields, size_t n,
	void *ctx, uint32_t *seen)
{
	yaml_mark_t start = y->ev.start_mark;
	uint32_t bits = 0;

	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return wg_config_yaml_fail(y, "expected a mapping");
	for (;;) {
		if (wg_config_yaml_next(y) < 0)
			return -1;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (mapping_entry(y, fields, n, ctx, &bits) < 0)
			return -1;
	}
	if (check_required(y, &start, fields, n, bits) < 0)
		return -1;
	if (seen != NULL)
		*seen = bits;
	return 0;
}

int
wg_config_yaml_sequence(struct wg_yaml *y, wg_yaml_item_fn item, void *ctx)
{
	uint32_t i;
	size_t saved;
	int rc;

	if (wg_config_yaml_is_null(y))
		return 0;
	if (y->ev.type != YAML_SEQUENCE_START_EVENT)
		return wg_config_yaml_fail(y, "expected a list");
	for (i = 0;; i++) {
		if (wg_config_yaml_next(y) < 0)
			return -1;
		if (y->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		saved = wg_config_yaml_push_index(y, i);
		rc = item(y, ctx, i);
		wg_config_yaml_pop(y, saved);
		if (rc < 0)
			return -1;
	}
}

const char *
wg_config_yaml_scalar(struct wg_yaml *y)
{
	const char *s = (const char *)y->ev.data.scalar.value;

	if (y->ev.type != YAML_SCALAR_EVENT) {
		wg_config_yaml_fail(y, "expected a single value");
		return NULL;
	}
	if (memchr(s, '\0', y->ev.data.scalar.length) != NULL) {
		wg_config_yaml_fail(y, "value contains a NUL character");
		return NULL;
	}
	return s;
}

bool
wg_config_yaml_is_null(const struct wg_yaml *y)
{
	const char *s = (const char *)y->ev.data.scalar.value;

	if (y->ev.type != YAML_SCALAR_EVENT || y->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
		strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

size_t
wg_config_yaml_length(const struct wg_yaml *y)
{
	return y->ev.type == YAML_SCALAR_EVENT ? y->ev.data.scalar.length : 0;
}

void
wg_config_yaml_wipe(struct wg_yaml *y)
{
	if (y->have_ev && y->ev.type == YAML_SCALAR_EVENT)
		wg_memzero(y->ev.data.scalar.value, y->ev.data.scalar.length);
}
