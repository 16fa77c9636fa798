/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A statically linked lister of /sys/bus/pci/devices: one line per device,
 * "<address> <vendor>:<device>", sorted.  Built with -static so that no
 * LD_PRELOAD trick could fake what it sees: under `fakesys run` it must read
 * the scenario's devices through the real paths.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first line of /sys/bus/pci/devices/<dev>/<attr> without "0x", or "?". */
static void attr(const char *dev, const char *name, char *buf, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, name);
	FILE *f = fopen(path, "re");
	snprintf(buf, len, "?");
	if (!f)
		return;
	if (fgets(buf, (int)len, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (!strncmp(buf, "0x", 2))
			memmove(buf, buf + 2, strlen(buf + 2) + 1);
	}
	fclose(f);
}

int main(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (!d) {
		perror("/sys/bus/pci/devices");
		return 1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(e->d_name)))
			return 1;
		names = nn;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++) {
		char v[32], dv[32];
		attr(names[i], "vendor", v, sizeof(v));
		attr(names[i], "device", dv, sizeof(dv));
		printf("%s %s:%s\n", names[i], v, dv);
		free(names[i]);
	}
	free(names);
	return 0;
}
