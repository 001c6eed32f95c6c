/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the configuration (common/cfg.c). The input is an
 * INI file, then NUL-separated --set arguments: the file is loaded
 * through a memfd (cfg_load_file takes a path), each --set applied in
 * order, then cfg_validate. Beyond ASan/UBSan, checks that every refusal
 * says why and names where (the file or the --set), that a message never
 * holds a secret given with --set, and that every fixed key reads back
 * (cfg_get) as a value which, set again with --set, is accepted and reads
 * back the same: what weirctl get shows is what the config means.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cfg.h"

#define SETS_MAX	16
#define VAL_MAX		(CFG_EAL_MAX + 64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_cfg: invariant broken: %s: %s\n", what, detail);
	abort();
}

static int memfd = -1;
static char memfd_path[64];
static struct weir_config cfg, copy;

/* The file part goes to the memfd; returns 0, or -1 when the fd cannot take it. */
static int
file_write(const uint8_t *p, size_t n)
{
	if (memfd < 0) {
		memfd = memfd_create("fuzz_cfg", MFD_CLOEXEC);
		if (memfd < 0)
			return -1;
		snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) != 0)
		return -1;
	return n == 0 || pwrite(memfd, p, n, 0) == (ssize_t)n ? 0 : -1;
}

/* Every fixed key survives get -> --set -> get unchanged. */
static void
round_trip(void)
{
	static char key[CFG_STR_MAX], v1[VAL_MAX], v2[VAL_MAX], arg[2 * VAL_MAX], err[1024];
	unsigned int i;

	for (i = 0; cfg_key_at(i, key, sizeof(key)) == 0; i++) {
		if (cfg_get(&cfg, key, v1, sizeof(v1)) != 0)
			fail("fixed key does not read back", key);
		/* quoted, so that blanks at either end stay part of the value */
		snprintf(arg, sizeof(arg), "%s=\"%s\"", key, v1);
		memcpy(&copy, &cfg, sizeof(copy));
		if (cfg_set(&copy, arg, err, sizeof(err)) != 0) {
			/* an empty value was never quoted in: set it bare */
			snprintf(arg, sizeof(arg), "%s=%s", key, v1);
			if (v1[0] != '\0' || cfg_set(&copy, arg, err, sizeof(err)) != 0)
				fail("value read back is refused", err);
		}
		if (cfg_get(&copy, key, v2, sizeof(v2)) != 0 || strcmp(v1, v2) != 0)
			fail("value changes on the way back", key);
	}
}

/* Does msg hold "=VALUE" other than as the "=(hidden)" weir writes instead? */
static int
leaks(const char *msg, const char *eq_value)
{
	const char *at;

	if (eq_value[1] == '\0')
		return 0;
	for (at = strstr(msg, eq_value); at != NULL; at = strstr(at + 1, eq_value))
		if (strncmp(at, "=(hidden)", 9) != 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char err[1024], arg[4096];
	const uint8_t *p = data, *end = data + size, *z;
	unsigned int n_sets = 0;
	size_t n;
	int rc;

	z = memchr(p, '\0', size);
	n = z != NULL ? (size_t)(z - p) : size;
	if (file_write(p, n) != 0)
		return 0;
	cfg_defaults(&cfg);
	err[0] = '\0';
	rc = cfg_load_file(&cfg, memfd_path, err, sizeof(err));
	if (rc != 0 && strncmp(err, memfd_path, strlen(memfd_path)) != 0)
		fail("file error does not name the file", err);
	p = z != NULL ? z + 1 : end;
	while (rc == 0 && p < end && n_sets < SETS_MAX) {
		z = memchr(p, '\0', (size_t)(end - p));
		n = z != NULL ? (size_t)(z - p) : (size_t)(end - p);
		if (n >= sizeof(arg))
			n = sizeof(arg) - 1;
		memcpy(arg, p, n);
		arg[n] = '\0';
		err[0] = '\0';
		rc = cfg_set(&cfg, arg, err, sizeof(err));
		if (rc != 0) {
			const char *eq = strchr(arg, '=');
			char key[CFG_STR_MAX];
			size_t kl = eq != NULL ? (size_t)(eq - arg) : 0;

			if (strncmp(err, "--set ", 6) != 0)
				fail("--set error does not name the --set", err);
			if (eq != NULL && kl < sizeof(key)) {
				memcpy(key, arg, kl);
				key[kl] = '\0';
				if (cfg_key_secret(key) && leaks(err, eq))
					fail("--set error shows a secret", err);
			}
		}
		n_sets++;
		p = z != NULL ? z + 1 : end;
	}
	if (rc != 0) {
		if (err[0] == '\0')
			fail("refusal without a reason", "");
		return 0;
	}
	err[0] = '\0';
	if (cfg_validate(&cfg, err, sizeof(err)) != 0 && err[0] == '\0')
		fail("validation refusal without a reason", "");
	round_trip();
	return 0;
}
