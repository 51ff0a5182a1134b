/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration loader: a table of bad files, each asserting the exact
 * error line (file, line, column, key path, message), good files asserting
 * the parsed values, the value parsers against tables, prefix masking
 * against a naive bit-by-bit reference, and the hash set against a
 * quadratic reference. No EAL, no root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "control/config.h"
#include "control/config_set.h"
#include "control/config_value.h"
#include "crypto/ct.h"

/* Example keys (wg genkey | wg pubkey), public in this repository. */
#define PRIV "yLELt8FcP8CyIlYjlOczD8cXZQQwgHJTZcYWcQ8cLFM="
#define OWNPUB "EbeRuGl3Q5Zr6kCxXMwTa8cUHhaXKVLBHis073GMNmY="
#define PUB1 "bx/dkMNldusgD6ONzA6Zb+7d0dGv7NsRTCDaS+ydwTE="
#define PUB2 "ELT8GhKXvSk1HlH50596fdX7BxG0Hxe/LdM2wGbpZmE="
#define PUB3 "OeyqsnswzTnSoItdmO8yEc1K2Z3Ng+ZrJBnhCZJCohY="
#define PSK "YFKJHFb7icocO7yhbz4KLlgbmFUKD2qU4GmiEmi2/+I="
/* base64 of 31 and 33 bytes */
#define KEY31 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="
#define KEY33 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"
/* PUB1 with non-zero bits in the last character's unused part */
#define PUB1_NONCANON "bx/dkMNldusgD6ONzA6Zb+7d0dGv7NsRTCDaS+ydwTF="

/* Lines 1..8; a peer list follows from line 9. */
#define IFACE "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 51820\n"
#define PORTS "ports:\n  wan: {device: net_tap0, address: [198.51.100.1/24]}\n" \
	"  lan: {device: net_tap1}\n"
#define HEAD IFACE PORTS "peers:\n"
#define PEER1 "  - public-key: " PUB1 "\n"
#define PEER2 "  - public-key: " PUB2 "\n"

static char dir[] = "/tmp/wg-test-config.XXXXXX";

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The files the cases name, relative to the current directory. */
static void
make_fixtures(void)
{
	mkdir("keys", 0700);
	mkdir("keys/dir.key", 0700);
	mkdir("inc", 0700);
	mkdir("bad", 0700);
	mkdir("sub", 0700);
	write_file("keys/wg0.key", PRIV "\n");
	write_file("keys/psk", PSK "\n");
	write_file("keys/garbage.key", "not a key\n");
	write_file("keys/two.key", PRIV "\n" PRIV "\n");
	write_file("keys/short.key", KEY31 "\n");
	write_file("inc/a.yaml", "peers:\n  - public-key: " PUB2 "\n"
		"    allowed-ips: [10.2.0.0/16]\n");
	write_file("inc/b.yaml", "peers:\n  - public-key: " PUB3 "\n"
		"    allowed-ips: [10.3.0.0/16]\n");
	write_file("bad/x.yaml", "peers:\n  - public-key: " PUB2 "\n"
		"    allowed-ips: [10.0.0.1/32]\n");
	write_file("bad/y.yaml", "version: 1\n");
	write_file("sub/wg0.key", PRIV "\n");
	write_file("sub/s.yaml", "version: 1\ninterface:\n  private-key-file: wg0.key\n"
		"  listen-port: 1\n" PORTS "include: [t.yaml]\n");
	write_file("sub/t.yaml", "peers:\n  - public-key: " PUB1 "\n");
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		return -1;
	make_fixtures();
	return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	(void)state;
	if (chdir("/") != 0)
		return -1;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Load text from c.yaml; *msgs receives everything printed (malloc'd). */
static int
load_text(const char *text, struct wg_conf **conf, char **msgs)
{
	size_t size;
	FILE *err = open_memstream(msgs, &size);
	int rc;

	assert_non_null(err);
	write_file("c.yaml", text);
	rc = wg_config_load("c.yaml", conf, err);
	fclose(err);
	return rc;
}

/* The number of lines in s that are not warnings. */
static int
error_lines(const char *s)
{
	int n = 0;

	for (const char *line = s; *line != '\0'; line = strchr(line, '\n') + 1) {
		if (strchr(line, '\n') == NULL)
			fail_msg("unterminated line: %s", line);
		if (strstr(line, ": warning: ") == NULL ||
				strstr(line, ": warning: ") > strchr(line, '\n'))
			n++;
	}
	return n;
}

struct bad_case {
	const char *yaml;
	const char *error;
	const char *warnings;	/* lines printed before the error, or NULL */
};

static const struct bad_case bad_cases[] = {
	/* 0: keys */
	{ "version: 1\ninterface:\n  private-key: abc\n",
	  "c.yaml:3:16: interface.private-key: invalid key (expected the base64 of 32 bytes)" },
	{ "version: 1\ninterface:\n  private-key: " KEY31 "\n",
	  "c.yaml:3:16: interface.private-key: invalid key (expected the base64 of 32 bytes)" },
	{ "version: 1\ninterface:\n  private-key: " KEY33 "\n",
	  "c.yaml:3:16: interface.private-key: invalid key (expected the base64 of 32 bytes)" },
	{ HEAD "  - public-key: " PUB1_NONCANON "\n",
	  "c.yaml:9:17: peers[0].public-key: invalid key (expected the base64 of 32 bytes)" },
	{ HEAD "  - public-key: bx_dkMNldusgD6ONzA6Zb-7d0dGv7NsRTCDaS-ydwTE=\n",
	  "c.yaml:9:17: peers[0].public-key: invalid key (expected the base64 of 32 bytes)" },
	{ HEAD "  - public-key: \"" PUB1 " \"\n",
	  "c.yaml:9:17: peers[0].public-key: invalid key (expected the base64 of 32 bytes)" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  private-key-file: keys/wg0.key\n",
	  "c.yaml:4:21: interface.private-key-file: only one of private-key and private-key-file "
	  "may be given" },
	{ "version: 1\ninterface:\n  listen-port: 1\nports: {}\n",
	  "c.yaml:3:3: interface: missing required key 'private-key' or 'private-key-file'" },
	{ "version: 1\ninterface:\n  private-key-file: keys/none.key\n",
	  "c.yaml:3:21: interface.private-key-file: cannot read 'keys/none.key': "
	  "No such file or directory" },
	{ "version: 1\ninterface:\n  private-key-file: keys/dir.key\n",
	  "c.yaml:3:21: interface.private-key-file: cannot read 'keys/dir.key': Is a directory" },
	/* 10 */
	{ "version: 1\ninterface:\n  private-key-file: keys/garbage.key\n",
	  "c.yaml:3:21: interface.private-key-file: 'keys/garbage.key' does not hold one base64 "
	  "key of 32 bytes" },
	{ "version: 1\ninterface:\n  private-key-file: keys/two.key\n",
	  "c.yaml:3:21: interface.private-key-file: 'keys/two.key' does not hold one base64 "
	  "key of 32 bytes" },
	{ "version: 1\ninterface:\n  private-key-file: keys/short.key\n",
	  "c.yaml:3:21: interface.private-key-file: 'keys/short.key' does not hold one base64 "
	  "key of 32 bytes" },
	{ "version: 1\ninterface:\n  private-key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	  "c.yaml:3:16: interface.private-key: invalid key (all zero)" },
	/* ports and numbers */
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 0\n",
	  "c.yaml:4:16: interface.listen-port: '0' is not a port number (1..65535)" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 65536\n",
	  "c.yaml:4:16: interface.listen-port: '65536' is not a port number (1..65535)" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 0x10\n",
	  "c.yaml:4:16: interface.listen-port: '0x10' is not a port number (1..65535)" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n",
	  "c.yaml:3:3: interface: missing required key 'listen-port'" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 1\n  mtu: 575\n",
	  "c.yaml:5:8: interface.mtu: '575' is out of range (576..9000)" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 1\n  mtu: 9001\n",
	  "c.yaml:5:8: interface.mtu: '9001' is out of range (576..9000)" },
	/* 20: names, versions, keys of the schema */
	{ "version: 1\ninterface:\n  name: abcdefghijklmnop\n",
	  "c.yaml:3:9: interface.name: invalid interface name (1 to 15 of A-Z a-z 0-9 _ = + . -)" },
	{ "version: 1\ninterface:\n  name: wg/0\n",
	  "c.yaml:3:9: interface.name: invalid interface name (1 to 15 of A-Z a-z 0-9 _ = + . -)" },
	{ "version: 2\n", "c.yaml:1:10: version: unsupported version '2' (expected 1)" },
	{ "interface: {}\n", "c.yaml:1:12: interface: missing required key 'listen-port'" },
	{ "interface:\n  private-key: " PRIV "\n  listen-port: 1\n" PORTS,
	  "c.yaml:1:1: (root): missing required key 'version'" },
	{ IFACE PORTS "peer:\n", "c.yaml:8:1: peer: unknown key" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  lisen-port: 51820\n",
	  "c.yaml:4:3: interface.lisen-port: unknown key" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 1\n  listen-port: 2\n",
	  "c.yaml:5:3: interface.listen-port: duplicate key" },
	{ "version: 1\nversion: 1\n", "c.yaml:2:1: version: duplicate key" },
	{ HEAD PEER1 "    colour: blue\n", "c.yaml:10:5: peers[0].colour: unknown key" },
	/* 30: peers */
	{ HEAD "  - allowed-ips: [10.0.0.1/32]\n",
	  "c.yaml:9:5: peers[0]: missing required key 'public-key'" },
	{ HEAD PEER1 PEER2 PEER1,
	  "c.yaml:11:17: peers[2].public-key: duplicate public key, first used by the peer at "
	  "c.yaml:9:5" },
	{ HEAD PEER1 "    allowed-ips: [10.0.0.0/33]\n",
	  "c.yaml:10:19: peers[0].allowed-ips[0]: '10.0.0.0/33' is not an IPv4 or IPv6 prefix" },
	{ HEAD PEER1 "    allowed-ips: [10.0.0.1/32, \"fd00::/129\"]\n",
	  "c.yaml:10:32: peers[0].allowed-ips[1]: 'fd00::/129' is not an IPv4 or IPv6 prefix" },
	{ HEAD PEER1 "    allowed-ips: [10.0.0.0/]\n",
	  "c.yaml:10:19: peers[0].allowed-ips[0]: '10.0.0.0/' is not an IPv4 or IPv6 prefix" },
	{ HEAD PEER1 "    allowed-ips: [10.0.0.0/+8]\n",
	  "c.yaml:10:19: peers[0].allowed-ips[0]: '10.0.0.0/+8' is not an IPv4 or IPv6 prefix" },
	{ HEAD PEER1 "    allowed-ips: [010.0.0.0/8]\n",
	  "c.yaml:10:19: peers[0].allowed-ips[0]: '010.0.0.0/8' is not an IPv4 or IPv6 prefix" },
	{ HEAD PEER1 "    allowed-ips: [10.1.0.0/16]\n" PEER2 "    allowed-ips:\n"
	  "      - 10.2.0.0/16\n      - 10.1.2.3/16\n",
	  "c.yaml:14:9: peers[1].allowed-ips[1]: '10.1.2.3/16' is already allowed for the peer "
	  "at c.yaml:9:5",
	  "c.yaml:14:9: warning: peers[1].allowed-ips[1]: '10.1.2.3/16' has host bits set, "
	  "using 10.1.0.0/16\n" },
	{ HEAD PEER1 "    allowed-ips: [\"fd00::/64\", \"FD00:0::/64\"]\n",
	  "c.yaml:10:32: peers[0].allowed-ips[1]: 'FD00:0::/64' is listed twice" },
	{ HEAD PEER1 "    endpoint: 1.2.3.4\n",
	  "c.yaml:10:15: peers[0].endpoint: '1.2.3.4' is not an endpoint (a.b.c.d:port or "
	  "[IPv6]:port)" },
	/* 40 */
	{ HEAD PEER1 "    endpoint: \"[::1]\"\n",
	  "c.yaml:10:15: peers[0].endpoint: '[::1]' is not an endpoint (a.b.c.d:port or "
	  "[IPv6]:port)" },
	{ HEAD PEER1 "    endpoint: host:99999\n",
	  "c.yaml:10:15: peers[0].endpoint: 'host:99999' is not an endpoint (a.b.c.d:port or "
	  "[IPv6]:port)" },
	{ HEAD PEER1 "    endpoint: vpn.example.com:51820\n",
	  "c.yaml:10:15: peers[0].endpoint: 'vpn.example.com:51820' is not an endpoint "
	  "(a.b.c.d:port or [IPv6]:port)" },
	{ HEAD PEER1 "    endpoint: 1.2.3.4:0\n",
	  "c.yaml:10:15: peers[0].endpoint: '1.2.3.4:0' is not an endpoint (a.b.c.d:port or "
	  "[IPv6]:port)" },
	{ HEAD PEER1 "    endpoint: 1.2.3.4:65536\n",
	  "c.yaml:10:15: peers[0].endpoint: '1.2.3.4:65536' is not an endpoint (a.b.c.d:port or "
	  "[IPv6]:port)" },
	{ HEAD PEER1 "    endpoint: \"::1:51820\"\n",
	  "c.yaml:10:15: peers[0].endpoint: '::1:51820' is not an endpoint (a.b.c.d:port or "
	  "[IPv6]:port)" },
	{ HEAD PEER1 "    endpoint: \"[1.2.3.4]:1\"\n",
	  "c.yaml:10:15: peers[0].endpoint: '[1.2.3.4]:1' is not an endpoint (a.b.c.d:port or "
	  "[IPv6]:port)" },
	{ HEAD PEER1 "    persistent-keepalive: 65536\n",
	  "c.yaml:10:27: peers[0].persistent-keepalive: '65536' is out of range (0..65535)" },
	{ HEAD PEER1 "    persistent-keepalive: -1\n",
	  "c.yaml:10:27: peers[0].persistent-keepalive: '-1' is out of range (0..65535)" },
	{ HEAD PEER1 "    preshared-key: " KEY33 "\n",
	  "c.yaml:10:20: peers[0].preshared-key: invalid key (expected the base64 of 32 bytes)" },
	/* 50 */
	{ HEAD PEER1 "    preshared-key: " PSK "\n    preshared-key-file: keys/psk\n",
	  "c.yaml:11:25: peers[0].preshared-key-file: only one of preshared-key and "
	  "preshared-key-file may be given" },
	{ HEAD PEER1 "    preshared-key-file: keys/missing.psk\n",
	  "c.yaml:10:25: peers[0].preshared-key-file: cannot read 'keys/missing.psk': "
	  "No such file or directory" },
	{ HEAD PEER1 "    name: \"a\\0b\"\n",
	  "c.yaml:10:11: peers[0].name: value contains a NUL character" },
	{ HEAD PEER1 "    allowed-ips: 10.0.0.1/32\n",
	  "c.yaml:10:18: peers[0].allowed-ips: expected a list" },
	{ HEAD PEER1 "    allowed-ips: [[10.0.0.1/32]]\n",
	  "c.yaml:10:19: peers[0].allowed-ips[0]: expected a single value" },
	{ HEAD "  public-key: x\n", "c.yaml:9:3: peers: expected a list" },
	/* YAML itself */
	{ "version: 1\ninterface:\n\tlisten-port: 1\n",
	  "c.yaml:3:1: interface: syntax error: found character that cannot start any token "
	  "while scanning for the next token" },
	{ "version: 1\ninterface: {listen-port: 1\n",
	  "c.yaml:3:1: interface: syntax error: did not find expected ',' or '}' "
	  "while parsing a flow mapping" },
	{ "", "c.yaml:1:1: (root): the file is empty" },
	{ "# nothing here\n\n", "c.yaml:3:1: (root): the file is empty" },
	/* 60 */
	{ "- version\n", "c.yaml:1:1: (root): expected a mapping" },
	{ IFACE PORTS "---\nversion: 1\n",
	  "c.yaml:8:1: (root): only one YAML document is allowed" },
	{ "version: &v 1\ninterface:\n  listen-port: *v\n",
	  "c.yaml:3:16: interface.listen-port: aliases are not supported" },
	{ "? [a]\n: b\n", "c.yaml:1:3: (root): expected a key" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 1\ndpdk:\n"
	  "  eal-args: --no-huge\n", "c.yaml:6:13: dpdk.eal-args: expected a list" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 1\ndpdk:\n"
	  "  eal-args: [-l, {a: b}]\n", "c.yaml:6:18: dpdk.eal-args[1]: expected a single value" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 1\ndpdk:\n"
	  "  idle-backoff: maybe\n",
	  "c.yaml:6:17: dpdk.idle-backoff: 'maybe' is not a boolean (true or false)" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 1\ndpdk:\n"
	  "  idle-backoff: [true]\n", "c.yaml:6:17: dpdk.idle-backoff: expected a single value" },
	{ "version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: 1\ndpdk:\n"
	  "  idle-backoff: 1\n", "c.yaml:6:17: dpdk.idle-backoff: '1' is not a boolean (true or false)" },
	/* ports */
	{ IFACE "ports:\n  wan: {address: [198.51.100.1/24]}\n",
	  "c.yaml:6:8: ports.wan: missing required key 'device'" },
	{ IFACE "ports:\n  wan: {device: a, address: [198.51.100.1/24]}\n  lan: {device: a}\n",
	  "c.yaml:7:17: ports.lan.device: same device as ports.wan.device" },
	{ IFACE "ports:\n  wan: {device: a, address: []}\n",
	  "c.yaml:6:29: ports.wan.address: at least one address is required" },
	{ IFACE "ports:\n  wan: {device: a, address: [198.51.100.1]}\n",
	  "c.yaml:6:30: ports.wan.address[0]: '198.51.100.1' is not an IPv4 or IPv6 prefix" },
	/* 70 */
	{ IFACE "ports:\n  wan: {device: a, address: [198.51.100.1/24, 198.51.100.1/25]}\n",
	  "c.yaml:6:47: ports.wan.address[1]: '198.51.100.1/25' is listed twice" },
	{ IFACE "ports:\n  wan: {device: a, address: [1.1.1.1/8], gateway: [1.1.1.2, 1.1.1.3]}\n",
	  "c.yaml:6:61: ports.wan.gateway[1]: at most one gateway per address family" },
	{ IFACE "ports:\n  wan: {device: a, address: [1.1.1.1/8], gateway: [1.1.1.2/32]}\n",
	  "c.yaml:6:52: ports.wan.gateway[0]: '1.1.1.2/32' is not an IPv4 or IPv6 address" },
	{ IFACE "ports:\n  neighbors:\n    - {ip: 1.1.1.1}\n",
	  "c.yaml:7:7: ports.neighbors[0]: missing required key 'mac'" },
	{ IFACE "ports:\n  neighbors:\n    - {ip: 1.1.1.1, mac: \"02:00:00:00:00\"}\n",
	  "c.yaml:7:26: ports.neighbors[0].mac: '02:00:00:00:00' is not a MAC address "
	  "(xx:xx:xx:xx:xx:xx)" },
	{ IFACE "ports:\n  neighbors:\n    - {ip: 1.1.1.1, mac: \"02:00:00:00:00:01\"}\n"
	  "    - {ip: 1.1.1.1, mac: \"02:00:00:00:00:02\"}\n",
	  "c.yaml:8:12: ports.neighbors[1].ip: '1.1.1.1' is listed twice" },
	{ IFACE "ports:\n  wan: {device: \"net tap\"}\n",
	  "c.yaml:6:17: ports.wan.device: 'net tap' is not a device name" },
	/* includes */
	{ HEAD PEER1 "include: [inc/none.yaml]\n",
	  "c.yaml:10:11: include[0]: cannot read 'inc/none.yaml': No such file or directory" },
	{ HEAD PEER1 "    allowed-ips: [10.0.0.1/32]\ninclude: [bad/x.yaml]\n",
	  "bad/x.yaml:3:19: peers[0].allowed-ips[0]: '10.0.0.1/32' is already allowed for the "
	  "peer at c.yaml:9:5" },
	{ HEAD "include: [bad/y.yaml]\n", "bad/y.yaml:1:1: version: unknown key" },
	/* 80 */
	{ HEAD "include: [\"bad/*\"]\n", "bad/y.yaml:1:1: version: unknown key" },
	{ HEAD "include: [keys]\n", "c.yaml:9:11: include[0]: cannot read 'keys': Is a directory" },
	{ HEAD PEER1 "    name: \"\"\n",
	  "c.yaml:10:11: peers[0].name: a name is 1 to 64 printable characters" },
	{ "version: 1\ninterface:\n  name: w\xff\n",
	  "c.yaml:3:10: (root): invalid input: invalid leading UTF-8 octet" },
};

/* Everything a bad case prints: its warnings, then its one error line. */
static char *
expected_stderr(const struct bad_case *c)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s\n", c->warnings != NULL ? c->warnings : "", c->error) < 0)
		fail_msg("out of memory");
	return s;
}

static void
test_bad_configs(void **state)
{
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct wg_conf *conf = (void *)1;
		char *msgs = NULL;
		int rc = load_text(bad_cases[i].yaml, &conf, &msgs);

		char *want = expected_stderr(&bad_cases[i]);

		if (rc != -1 || conf != NULL || error_lines(msgs) != 1 ||
				strcmp(msgs, want) != 0) {
			print_error("case %zu: rc %d, got\n%sexpected\n%s", i, rc, msgs, want);
			failed++;
		}
		free(want);
		free(msgs);
	}
	assert_int_equal(failed, 0);
}

/* Secrets never appear in messages, whatever goes wrong around them. */
static void
test_no_secret_in_messages(void **state)
{
	static const char *const texts[] = {
		"version: 1\ninterface:\n  private-key: " PRIV "x\n",
		"version: 1\ninterface:\n  private-key: " PRIV "\n  private-key: " PRIV "\n",
		"version: 1\ninterface:\n  private-key: " PRIV "\n  listen-port: " PRIV "\n",
		HEAD PEER1 "    preshared-key: " PSK "=\n",
		HEAD PEER1 "    preshared-key: \"" PSK "\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct wg_conf *conf;
		char *msgs = NULL;

		assert_int_equal(load_text(texts[i], &conf, &msgs), -1);
		assert_int_equal(error_lines(msgs), 1);
		if (strstr(msgs, "yLELt8Fc") != NULL || strstr(msgs, "YFKJHFb7") != NULL)
			fail_msg("case %zu leaks a secret: %s", i, msgs);
		free(msgs);
	}
}

static char *
repeat(const char *head, char c, size_t n, const char *tail)
{
	size_t h = strlen(head), t = strlen(tail);
	char *s = malloc(h + n + t + 1);

	assert_non_null(s);
	memcpy(s, head, h);
	memset(s + h, c, n);
	memcpy(s + h + n, tail, t + 1);
	return s;
}

/* Cases with a 1 MiB line, built at run time: the text is malloc'd into c->yaml. */
enum { N_LONG_CASES = 2 };

static void
long_case(unsigned int i, struct bad_case *c)
{
	memset(c, 0, sizeof(*c));
	if (i == 0) {
		c->yaml = repeat(HEAD PEER1 "    name: ", 'a', 1 << 20, "\n");
		c->error = "c.yaml:10:11: peers[0].name: a name is 1 to 64 printable characters";
	} else {
		/* A 1 MiB key: libyaml refuses simple keys over 1024 characters, at their end. */
		c->yaml = repeat("version: 1\n", 'k', 1 << 20, ": 1\n");
		c->error = "c.yaml:2:1048577: (root): syntax error: could not find expected ':' "
			"while scanning a simple key";
	}
}

static void
test_long_lines(void **state)
{
	struct bad_case c;
	struct wg_conf *conf;
	char *msgs, *want;
	unsigned int i;

	(void)state;
	for (i = 0; i < N_LONG_CASES; i++) {
		long_case(i, &c);
		msgs = NULL;
		assert_int_equal(load_text(c.yaml, &conf, &msgs), -1);
		want = expected_stderr(&c);
		assert_string_equal(msgs, want);
		free(want);
		free(msgs);
		free((char *)c.yaml);
	}
}

static void
test_missing_file(void **state)
{
	struct wg_conf *conf;
	char *msgs = NULL;
	size_t size;
	FILE *err = open_memstream(&msgs, &size);

	(void)state;
	assert_int_equal(wg_config_load("nonexistent.yaml", &conf, err), -1);
	assert_int_equal(wg_config_load("keys", &conf, err), -1);
	fclose(err);
	assert_string_equal(msgs,
		"nonexistent.yaml:1:1: (root): cannot read: No such file or directory\n"
		"keys:1:1: (root): cannot read: Is a directory\n");
	free(msgs);
}

static struct wg_conf *
load_good(const char *text, const char *expect_msgs)
{
	struct wg_conf *conf = NULL;
	char *msgs = NULL;

	if (load_text(text, &conf, &msgs) != 0)
		fail_msg("unexpected error: %s", msgs);
	assert_string_equal(msgs, expect_msgs);
	free(msgs);
	return conf;
}

static void
assert_prefix(const struct wg_prefix *p, const char *text)
{
	char buf[WG_CONFIG_PREFIX_STRLEN];

	assert_string_equal(wg_config_value_prefix_str(p, buf), text);
}

static void
assert_key(const uint8_t key[32], const char *b64)
{
	uint8_t k[32];

	assert_true(wg_config_value_key(b64, strlen(b64), k));
	assert_memory_equal(key, k, 32);
}

static void
test_minimal(void **state)
{
	struct wg_conf *c = load_good(IFACE "ports:\n  wan: {device: x, address: [1.2.3.4/8]}\n"
		"  lan: {device: y}\npeers:\n", "");
	char line[256];

	(void)state;
	assert_int_equal(c->version, 1);
	assert_string_equal(c->ifname, "wg0");
	assert_int_equal(c->mtu, 1420);
	assert_int_equal(c->listen_port, 51820);
	assert_int_equal(c->eal_argc, 0);
	assert_true(c->idle_backoff);		/* the default */
	assert_int_equal(c->n_peers, 0);
	assert_int_equal(c->n_neighbors, 0);
	assert_key(c->private_key, PRIV);
	assert_key(c->public_key, OWNPUB);
	assert_int_equal(c->wan.n_addresses, 1);
	assert_prefix(&c->wan.addresses[0], "1.2.3.4/8");	/* host bits kept */
	assert_int_equal(c->lan.n_addresses, 0);
	assert_int_equal(c->wan.gateway4.family, 0);
	wg_config_summary(c, line, sizeof(line));
	assert_string_equal(line, "wg0: 0 peers, 0 prefixes (0 IPv4, 0 IPv6), wan x, lan y");
	wg_config_free(c);
}

/* dpdk.idle-backoff: the YAML spellings of a boolean, plain and quoted. */
static void
test_idle_backoff(void **state)
{
	static const struct {
		const char *value;
		bool want;
	} rows[] = {
		{ "true", true }, { "True", true }, { "TRUE", true }, { "yes", true },
		{ "on", true }, { "\"true\"", true }, { "false", false }, { "False", false },
		{ "FALSE", false }, { "no", false }, { "off", false }, { "'false'", false },
	};
	char text[512];
	struct wg_conf *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(text, sizeof(text), IFACE "dpdk:\n  idle-backoff: %s\n"
			"ports:\n  wan: {device: x, address: [1.2.3.4/8]}\n  lan: {device: y}\n",
			rows[i].value);
		c = load_good(text, "");
		if (c->idle_backoff != rows[i].want)
			fail_msg("idle-backoff: %s gave %d", rows[i].value, c->idle_backoff);
		wg_config_free(c);
	}
}

static void
test_full(void **state)
{
	static const char text[] =
		"version: 1\n"
		"interface:\n"
		"  name: wg-hub.1\n"
		"  private-key-file: keys/wg0.key\n"
		"  listen-port: 1\n"
		"  mtu: 9000\n"
		"dpdk:\n"
		"  eal-args: [-l, \"0-1\", --no-huge, '--vdev=net_tap0,iface=w']\n"
		"  idle-backoff: off\n"
		"ports:\n"
		"  wan:\n"
		"    device: \"0000:3b:00.0\"\n"
		"    address: [198.51.100.1/24, \"2001:db8:1::1/64\"]\n"
		"    gateway: [\"2001:db8:1::fe\", 198.51.100.254]\n"
		"  lan:\n"
		"    device: net_tap1\n"
		"    address: []\n"
		"  neighbors:\n"
		"    - { ip: 198.51.100.254, mac: \"02:00:00:00:00:FE\" }\n"
		"    - { ip: \"2001:db8:1::fe\", mac: \"02:00:00:00:00:fd\" }\n"
		"peers:\n"
		"  - name: branch 1\n"
		"    public-key: \"" PUB1 "\"\n"
		"    preshared-key-file: keys/psk\n"
		"    endpoint: 192.0.2.10:51820\n"
		"    allowed-ips: [10.192.122.3/32, 10.192.124.0/24, \"fd00:1::/64\", 0.0.0.0/0]\n"
		"    persistent-keepalive: 65535\n"
		"  - public-key: " PUB2 "\n"
		"    preshared-key: " PSK "\n"
		"    endpoint: \"[2001:db8::10]:1\"\n"
		"    allowed-ips: [\"::/0\", 10.192.122.4]\n"
		"    persistent-keepalive: 0\n"
		"  - public-key: " PUB3 "\n"
		"    allowed-ips:\n";
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x10 };
	struct wg_conf *c = load_good(text, "");
	const struct wg_conf_peer *p = c->peers;
	char line[256];

	(void)state;
	assert_string_equal(c->ifname, "wg-hub.1");
	assert_key(c->private_key, PRIV);
	assert_key(c->public_key, OWNPUB);
	assert_int_equal(c->listen_port, 1);
	assert_int_equal(c->mtu, 9000);
	assert_int_equal(c->eal_argc, 4);
	assert_string_equal(c->eal_argv[1], "0-1");
	assert_string_equal(c->eal_argv[3], "--vdev=net_tap0,iface=w");
	assert_null(c->eal_argv[4]);
	assert_string_equal(c->wan.device, "0000:3b:00.0");
	assert_int_equal(c->wan.n_addresses, 2);
	assert_prefix(&c->wan.addresses[1], "2001:db8:1::1/64");
	assert_prefix(&c->wan.gateway4, "198.51.100.254/32");
	assert_prefix(&c->wan.gateway6, "2001:db8:1::fe/128");
	assert_string_equal(c->lan.device, "net_tap1");
	assert_int_equal(c->lan.n_addresses, 0);
	assert_int_equal(c->n_neighbors, 2);
	assert_prefix(&c->neighbors[1].ip, "2001:db8:1::fe/128");
	assert_memory_equal(c->neighbors[0].mac, "\x02\x00\x00\x00\x00\xfe", 6);

	assert_int_equal(c->n_peers, 3);
	assert_string_equal(p[0].name, "branch 1");
	assert_key(p[0].public_key, PUB1);
	assert_true(p[0].has_psk);
	assert_key(p[0].psk, PSK);
	assert_int_equal(p[0].endpoint.family, AF_INET);
	assert_int_equal(p[0].endpoint.port, 51820);
	assert_memory_equal(p[0].endpoint.addr, "\xc0\x00\x02\x0a", 4);
	assert_int_equal(p[0].n_allowed, 4);
	assert_prefix(&p[0].allowed[2], "fd00:1::/64");
	assert_prefix(&p[0].allowed[3], "0.0.0.0/0");
	assert_int_equal(p[0].persistent_keepalive, 65535);
	assert_int_equal(p[0].line, 22);
	assert_int_equal(p[0].column, 5);

	assert_null(p[1].name);
	assert_key(p[1].psk, PSK);
	assert_int_equal(p[1].endpoint.family, AF_INET6);
	assert_int_equal(p[1].endpoint.port, 1);
	assert_memory_equal(p[1].endpoint.addr, v6, 16);
	assert_int_equal(p[1].n_allowed, 2);
	assert_prefix(&p[1].allowed[0], "::/0");
	assert_prefix(&p[1].allowed[1], "10.192.122.4/32");
	assert_ptr_equal(p[1].allowed, c->prefixes + 4);

	assert_false(p[2].has_psk);
	assert_true(wg_ct_is_zero(p[2].psk, 32));
	assert_int_equal(p[2].endpoint.family, 0);
	assert_int_equal(p[2].n_allowed, 0);
	assert_int_equal(c->n_prefixes, 6);
	wg_config_summary(c, line, sizeof(line));
	assert_false(c->idle_backoff);
	assert_string_equal(line, "wg-hub.1: 3 peers, 6 prefixes (4 IPv4, 2 IPv6), "
		"wan 0000:3b:00.0, lan net_tap1, no idle back-off");
	wg_config_free(c);
}

static void
test_masking(void **state)
{
	struct wg_conf *c = load_good(HEAD PEER1
		"    allowed-ips: [10.1.2.3/16, \"fd00::1:2:3/100\", 10.9.9.9/32]\n",
		"c.yaml:10:19: warning: peers[0].allowed-ips[0]: '10.1.2.3/16' has host bits set, "
		"using 10.1.0.0/16\n"
		"c.yaml:10:32: warning: peers[0].allowed-ips[1]: 'fd00::1:2:3/100' has host bits "
		"set, using fd00::1:0:0/100\n");

	(void)state;
	assert_prefix(&c->peers[0].allowed[0], "10.1.0.0/16");
	assert_prefix(&c->peers[0].allowed[1], "fd00::1:0:0/100");
	assert_prefix(&c->peers[0].allowed[2], "10.9.9.9/32");
	wg_config_free(c);
}

static void
test_own_key_ignored(void **state)
{
	struct wg_conf *c = load_good(HEAD PEER1 "    allowed-ips: [10.1.0.0/16]\n"
		"  - public-key: " OWNPUB "\n    allowed-ips: [10.2.0.0/16, 10.3.0.0/16]\n"
		PEER2 "    allowed-ips: [10.4.0.0/16]\n",
		"c.yaml:11:5: warning: peers[1]: this is our own public key, peer ignored\n");

	(void)state;
	assert_int_equal(c->n_peers, 2);
	assert_key(c->peers[1].public_key, PUB2);
	assert_int_equal(c->n_prefixes, 2);
	assert_prefix(&c->peers[1].allowed[0], "10.4.0.0/16");
	assert_ptr_equal(c->peers[1].allowed, c->prefixes + 1);
	wg_config_free(c);

	/* Before the interface section, and in an included file. */
	write_file("inc2.yaml", "peers:\n  - public-key: " OWNPUB "\n");
	c = load_good("peers:\n  - public-key: " OWNPUB "\n" PORTS IFACE,
		"c.yaml:2:5: warning: peers[0]: this is our own public key, peer ignored\n");
	assert_int_equal(c->n_peers, 0);
	wg_config_free(c);
	c = load_good(HEAD PEER1 "include: [inc2.yaml]\n",
		"inc2.yaml:2:5: warning: peers[0]: this is our own public key, peer ignored\n");
	assert_int_equal(c->n_peers, 1);
	wg_config_free(c);
}

static void
test_include(void **state)
{
	struct wg_conf *c = load_good(HEAD PEER1 "include: [\"inc/*.yaml\", \"nothing/*.yaml\"]\n",
		"c.yaml:10:25: warning: include[1]: 'nothing/*.yaml' matches no file\n");

	(void)state;
	assert_int_equal(c->n_peers, 3);
	assert_int_equal(c->n_files, 3);
	assert_string_equal(c->files[1], "inc/a.yaml");
	assert_string_equal(c->files[2], "inc/b.yaml");
	assert_key(c->peers[0].public_key, PUB1);
	assert_key(c->peers[1].public_key, PUB2);
	assert_int_equal(c->peers[1].file, 1);
	assert_int_equal(c->peers[2].file, 2);
	assert_int_equal(c->peers[2].line, 2);
	assert_prefix(&c->peers[2].allowed[0], "10.3.0.0/16");
	wg_config_free(c);

	/* Paths are relative to the including file's directory. */
	c = NULL;
	{
		char *msgs = NULL;
		size_t size;
		FILE *err = open_memstream(&msgs, &size);

		assert_int_equal(wg_config_load("sub/s.yaml", &c, err), 0);
		fclose(err);
		assert_string_equal(msgs, "");
		free(msgs);
	}
	assert_key(c->private_key, PRIV);
	assert_int_equal(c->n_peers, 1);
	assert_string_equal(c->files[1], "sub/t.yaml");
	wg_config_free(c);
}

static void
test_buffer_no_files(void **state)
{
	static const char text[] = "version: 1\ninterface:\n  private-key-file: keys/wg0.key\n";
	struct wg_conf *c;
	char *msgs = NULL;
	size_t size;
	FILE *err = open_memstream(&msgs, &size);

	(void)state;
	assert_int_equal(wg_config_load_buffer("mem.yaml", text, strlen(text), WG_CONFIG_NO_FILES,
		&c, err), -1);
	fclose(err);
	assert_string_equal(msgs,
		"mem.yaml:3:21: interface.private-key-file: key files are not allowed here\n");
	free(msgs);
	assert_int_equal(wg_config_load_buffer("mem.yaml", HEAD, strlen(HEAD), 0, &c, NULL), 0);
	assert_int_equal(c->n_peers, 0);
	wg_config_free(c);
	wg_config_free(NULL);
}

/* Value parsers */

static void
test_values(void **state)
{
	static const struct {
		const char *text;
		bool need_len;
		const char *expect;	/* NULL: rejected */
	} prefixes[] = {
		{ "10.0.0.0/8", true, "10.0.0.0/8" },
		{ "10.0.0.1", false, "10.0.0.1/32" },
		{ "10.0.0.1", true, NULL },
		{ "::", false, "::/128" },
		{ "::/0", true, "::/0" },
		{ "0.0.0.0/0", true, "0.0.0.0/0" },
		{ "1.2.3.4/32", true, "1.2.3.4/32" },
		{ "1.2.3.4/33", true, NULL },
		{ "::1/128", true, "::1/128" },
		{ "::1/129", true, NULL },
		{ "::ffff:1.2.3.4/128", true, "::ffff:1.2.3.4/128" },
		{ "1.2.3/24", true, NULL },
		{ "1.2.3.4/024", true, "1.2.3.4/24" },
		{ "1.2.3.4/0024", true, NULL },
		{ "1.2.3.4/ 8", true, NULL },
		{ "fe80::1%eth0/64", true, NULL },
		{ "", false, NULL },
		{ "/8", true, NULL },
		{ "1.2.3.4/8/8", true, NULL },
	};
	static const struct {
		const char *text;
		int family;
		uint16_t port;
	} endpoints[] = {
		{ "1.2.3.4:1", AF_INET, 1 },
		{ "255.255.255.255:65535", AF_INET, 65535 },
		{ "[::]:51820", AF_INET6, 51820 },
		{ "[fe80::1%eth0]:1", 0, 0 },
		{ "[::1]:", 0, 0 },
		{ "[::1]x:1", 0, 0 },
		{ "[::1:1", 0, 0 },
		{ "1.2.3.4:051820", 0, 0 },
		{ "1.2.3.4:+1", 0, 0 },
		{ ":1", 0, 0 },
	};
	char buf[WG_CONFIG_PREFIX_STRLEN];
	struct wg_prefix p;
	struct wg_endpoint e;
	uint8_t mac[6];
	uint32_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		bool ok = wg_config_value_prefix(prefixes[i].text, prefixes[i].need_len, &p);

		if (ok != (prefixes[i].expect != NULL) ||
				(ok && strcmp(wg_config_value_prefix_str(&p, buf),
					prefixes[i].expect) != 0))
			fail_msg("prefix %zu '%s'", i, prefixes[i].text);
	}
	for (i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		bool ok = wg_config_value_endpoint(endpoints[i].text, &e);

		if (ok != (endpoints[i].family != 0) || (ok && (e.family != endpoints[i].family ||
				e.port != endpoints[i].port)))
			fail_msg("endpoint %zu '%s'", i, endpoints[i].text);
	}
	assert_true(wg_config_value_uint("4294967295", 0, UINT32_MAX, &v));
	assert_int_equal(v, UINT32_MAX);
	assert_false(wg_config_value_uint("4294967296", 0, UINT32_MAX, &v));
	assert_false(wg_config_value_uint("99999999999", 0, UINT32_MAX, &v));
	assert_false(wg_config_value_uint("", 0, 1, &v));
	assert_true(wg_config_value_ifname("a.b-c_d=e+f0123"));
	assert_false(wg_config_value_ifname(""));
	assert_false(wg_config_value_ifname("wg 0"));
	assert_true(wg_config_value_mac("0a:1B:2c:3D:4e:5F", mac));
	assert_memory_equal(mac, "\x0a\x1b\x2c\x3d\x4e\x5f", 6);
	assert_false(wg_config_value_mac("0a:1B:2c:3D:4e:5G", mac));
	assert_false(wg_config_value_mac("0a-1B-2c-3D-4e-5F", mac));
	assert_false(wg_config_value_mac("0a:1B:2c:3D:4e:5F:", mac));
}

/* Keys: every byte length around 32 through the real base64 encoder. */
static void
test_key_lengths(void **state)
{
	uint8_t raw[40], out[32];
	char b64[64];
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(raw); n++)
		raw[n] = (uint8_t)(n * 37 + 1);
	for (n = 28; n <= 36; n++) {
		sodium_bin2base64(b64, sizeof(b64), raw, n, sodium_base64_VARIANT_ORIGINAL);
		assert_int_equal(wg_config_value_key(b64, strlen(b64), out), n == 32);
	}
	assert_memory_equal(out, raw, 32);
}

/* Masking against a bit-by-bit reference, over random prefixes. */
static void
test_mask_reference(void **state)
{
	struct wg_prefix p, ref;
	uint32_t seed = 12345;
	unsigned int round, bit;
	bool changed;

	(void)state;
	for (round = 0; round < 20000; round++) {
		memset(&p, 0, sizeof(p));
		p.family = round & 1 ? AF_INET6 : AF_INET;
		for (bit = 0; bit < (p.family == AF_INET ? 4u : 16u); bit++) {
			seed = seed * 1103515245 + 12345;
			p.addr[bit] = (uint8_t)(seed >> 16);
		}
		p.len = (uint8_t)(round % (p.family == AF_INET ? 33 : 129));
		ref = p;
		changed = false;
		for (bit = p.len; bit < (p.family == AF_INET ? 32u : 128u); bit++) {
			uint8_t m = (uint8_t)(0x80 >> (bit % 8));

			changed |= (ref.addr[bit / 8] & m) != 0;
			ref.addr[bit / 8] &= (uint8_t)~m;
		}
		assert_int_equal(wg_config_value_mask(&p), changed);
		assert_memory_equal(&p, &ref, sizeof(p));
	}
}

/* The hash set finds exactly the duplicates a quadratic scan finds, even with a weak hash. */
static uint64_t
weak_hash(const void *base, uint32_t i)
{
	return ((const uint32_t *)base)[i] % 7;
}

static bool
equal_u32(const void *base, uint32_t a, uint32_t b)
{
	return ((const uint32_t *)base)[a] == ((const uint32_t *)base)[b];
}

static void
test_set_reference(void **state)
{
	enum { N = 3000 };
	uint32_t *values = malloc(N * sizeof(*values)), i, j, got, want, seed = 7;
	struct wg_config_set s;

	(void)state;
	assert_non_null(values);
	wg_config_set_init(&s, weak_hash, equal_u32);
	for (i = 0; i < N; i++) {
		seed = seed * 1103515245 + 12345;
		values[i] = (seed >> 8) % 2000;
		want = i;
		for (j = 0; j < i && want == i; j++)
			if (values[j] == values[i])
				want = j;
		got = wg_config_set_insert(&s, values, i);
		assert_int_equal(got, want);
	}
	wg_config_set_free(&s);
	free(values);
}

/* The example shipped in conf/ passes. */
static void
test_example(void **state)
{
	struct wg_conf *c = NULL;
	char line[256];

	(void)state;
	assert_int_equal(wg_config_load(SOURCE_ROOT "/conf/peers.yaml", &c, stderr), 0);
	wg_config_summary(c, line, sizeof(line));
	assert_string_equal(line,
		"wg0: 3 peers, 5 prefixes (4 IPv4, 1 IPv6), wan net_tap0, lan net_tap1");
	assert_true(c->peers[0].has_psk);
	wg_config_free(c);
}

static void
dump_case(unsigned int n, const struct bad_case *c)
{
	char name[32], *want = expected_stderr(c);

	snprintf(name, sizeof(name), "cases/%03u.yaml", n);
	write_file(name, c->yaml);
	snprintf(name, sizeof(name), "cases/%03u.err", n);
	write_file(name, want);
	free(want);
}

/*
 * --dump DIR: write the fixtures and every bad case (cases/NNN.yaml, to be
 * loaded as c.yaml from DIR, and cases/NNN.err, its exact stderr) for
 * tests/integration/test_bad_configs.sh, which runs the real binary on them.
 */
static int
dump(const char *out)
{
	unsigned int n = 0, i;
	struct bad_case c;

	if ((mkdir(out, 0700) != 0 && errno != EEXIST) || chdir(out) != 0 ||
			mkdir("cases", 0700) != 0) {
		perror(out);
		return 1;
	}
	make_fixtures();
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		dump_case(n++, &bad_cases[i]);
	for (i = 0; i < N_LONG_CASES; i++) {
		long_case(i, &c);
		dump_case(n++, &c);
		free((char *)c.yaml);
	}
	printf("%u cases\n", n);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_no_secret_in_messages),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_idle_backoff),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_masking),
		cmocka_unit_test(test_own_key_ignored),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_buffer_no_files),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_key_lengths),
		cmocka_unit_test(test_mask_reference),
		cmocka_unit_test(test_set_reference),
		cmocka_unit_test(test_example),
	};

	if (argc == 3 && strcmp(argv[1], "--dump") == 0)
		return dump(argv[2]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
