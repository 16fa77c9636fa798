/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * driverctl under `fakesys run`: `driverctl -v list-devices` (udevadm info on
 * every device of /sys/bus/pci/devices, lspci for the names) lists each of
 * the scenario's devices with its driver and prints no error; with --live,
 * `driverctl set-override BDF vfio-pci` then `unset-override BDF` takes the
 * device to vfio-pci and back to its own driver (drivers_probe finds it).
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
	struct vk_host_model *m = consumers_model(scenario);
	char a[VK_PCI_ADDR_STRLEN], want[128];

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
		const struct vk_host_device *d = &m->devices[i];
		/* "[*]": an override is set (driverctl's own mark) */
		snprintf(want, sizeof(want), "%s %s %s(", vk_pci_addr_format(&d->addr, a), d->driver ? d->driver : "(none)",
		         d->driver_override ? "[*] " : "");
		const char *at = strstr(out, want);
		cr_assert(at && (at == out || at[-1] == '\n'), "no '%s' in:\n%s", want, out);
	}
	vk_host_model_free(m);
}

Test(driverctl, list_devices_shows_each_device_and_no_error)
{
	lists_every_device("default.yaml");
	lists_every_device("happy-nic-vf-x710-keyval.yaml");
}

/*
 * driverctl runs /sbin/modprobe for a driver without /sys/module/<driver>
 * (vfio-pci's module is vfio_pci): the host's modprobe would load the real
 * kernel's module, or is not there.  It runs in a mount namespace of its own
 * with a modprobe that answers for the fake kernel: 0 for a module the fake
 * /sys/module has (what modprobe answers for a loaded module), else 1.  The
 * scratch directory goes afterwards, entry by entry (never recursively: the
 * host's /usr/sbin is bound below it until the umount).
 */
static const char with_fake_modprobe[] =
	"d=$(mktemp -d) && mkdir $d/orig $d/sbin && mount --bind /usr/sbin $d/orig && "
	"for f in $d/orig/*; do ln -s \"$f\" $d/sbin/; done && "
	"printf '#!/bin/sh\\nfor m; do case $m in -*) ;; *) test -d /sys/module/$(echo $m | tr - _) || exit 1;; "
	"esac; done\\n' > $d/sbin/modprobe && chmod 755 $d/sbin/modprobe && mount --bind $d/sbin /usr/sbin && "
	"{ \"$FAKESYS\" run --live \"$SCEN/default.yaml\" -- /bin/sh -c \"$INNER\"; rc=$?; umount /usr/sbin && "
	"umount $d/orig && rmdir $d/orig && rm -f $d/sbin/* && rmdir $d/sbin $d && exit $rc; }";

Test(driverctl, set_and_unset_override_round_trip)
{
	char inner[2048];
	const char *dev = "/sys/bus/pci/devices/0000:02:00.0";

	/* as the kernel answers a bind the override forbids: ENODEV, not EIO
	 * (dash's echo says 'I/O error' for any failed write; bash names it) */
	snprintf(inner, sizeof(inner),
	         "driverctl --nosave set-override 0000:02:00.0 vfio-pci || exit 1; readlink %s/driver; cat %s/driver_override; "
	         "ls /dev/vfio/devices; echo 0000:02:00.0 > %s/driver/unbind; "
	         "bash -c 'echo 0000:02:00.0 > /sys/bus/pci/drivers/nvme/bind' 2>&1; "
	         "driverctl --nosave unset-override 0000:02:00.0 || exit 2; readlink %s/driver; cat %s/driver_override; "
	         "ls /dev/vfio/devices",
	         dev, dev, dev, dev, dev);
	setenv("INNER", inner, 1);
	setenv("SETUP", with_fake_modprobe, 1);
	cr_assert_eq(consumers_sh("unshare -m sh -c \"$SETUP\"", out, sizeof(out), err, sizeof(err)), 0, "%s%s", out,
	             err);
	cr_assert_str_eq(out,
	                 "../../../../bus/pci/drivers/vfio-pci\nvfio-pci\nvfio0\nvfio1\nvfio2\nvfio3\n"
	                 "bash: line 1: echo: write error: No such device\n"
	                 "../../../../bus/pci/drivers/nvme\n(null)\nvfio0\nvfio1\nvfio2\n",
	                 "%s%s", out, err);
}

CONSUMERS_MAIN("driverctl", "udevadm", "lspci", "unshare", "bash", NULL)
