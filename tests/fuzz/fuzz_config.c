/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness over the configuration loader (from memory, no file
 * access). Messages go to /dev/null so that their formatting is exercised.
 *   scripts/fuzz.sh config [SECONDS]
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct wg_conf *conf;
	char line[512];
	size_t i, j;

	if (sink == NULL)
		sink = fopen("/dev/null", "w");
	if (wg_config_load_buffer("fuzz.yaml", data, size, WG_CONFIG_NO_FILES, &conf, sink) < 0)
		return 0;
	/* Touch everything the loader hands out. */
	wg_config_summary(conf, line, sizeof(line));
	for (i = 0; i < conf->n_peers; i++)
		for (j = 0; j < conf->peers[i].n_allowed; j++)
			line[0] ^= (char)conf->peers[i].allowed[j].len;
	for (i = 0; i < (size_t)conf->eal_argc; i++)
		line[0] ^= conf->eal_argv[i][0];
	wg_config_free(conf);
	return line[0] == 0x7f;
}
