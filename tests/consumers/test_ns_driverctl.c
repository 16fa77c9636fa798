/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * driverctl under `fakesys run`: `driverctl -v list-devices` (udevadm info on
 * every device of /sys/bus/pci/devices, lspci for the names) lists each of
 * the scenario's devices with its driver and prints no error.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <vfiokit/host_model.h>
#include <vfiokit/pci_addr.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 16], err[1 << 14];

static void lists_every_device(const char *scenario)
{
	struct host_model *m = consumers_model(scenario);
	char a[PCI_ADDR_STRLEN], want[128];

	/* lspci's own complaint about a missing modules directory (libkmod,
	 * /lib/modules/$(uname -r) of the real kernel) is not driverctl's */
	cr_assert_eq(consumers_run(NULL, scenario, "driverctl -v list-devices 2>&1 | grep -v 'Unable to load libkmod'",
	                           out, sizeof(out), err, sizeof(err)),
	             0, "%s%s", out, err);
	size_t lines = 0;
	for (const char *p = out; *p; p = strchr(p, '\n') + 1, lines++)
		cr_assert_not_null(strchr(p, '\n'), "%s", out);
	cr_assert_eq(lines, m->n_devices, "%zu devices, driverctl printed:\n%s", m->n_devices, out);
	for (size_t i = 0; i < m->n_devices; i++) {
		const struct host_device *d = &m->devices[i];
		/* "[*]": an override is set (driverctl's own mark) */
		snprintf(want, sizeof(want), "%s %s %s(", pci_addr_format(&d->addr, a), d->driver ? d->driver : "(none)",
		         d->driver_override ? "[*] " : "");
		const char *at = strstr(out, want);
		cr_assert(at && (at == out || at[-1] == '\n'), "no '%s' in:\n%s", want, out);
	}
	host_model_free(m);
}

Test(driverctl, list_devices_shows_each_device_and_no_error)
{
	lists_every_device("default.yaml");
	lists_every_device("happy-nic-vf-x710-keyval.yaml");
}

CONSUMERS_MAIN("driverctl", "udevadm", "lspci", NULL)
