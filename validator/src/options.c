/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU's system-emulator options: name, whether it takes an argument, and how
 * the argument is split.  Taken from qemu-options.hx (DEF(name, HAS_ARG/0, ...)),
 * current and past releases, so that older command lines parse too; options
 * that only some targets or builds define are listed as well (QEMU_ARCH_* masks,
 * CONFIG_* conditions).  Implied keys follow the QemuOptsList definitions
 * (implied_opt_name) and the vl.c/qom code paths: -device "driver",
 * -object "qom-type" (user_creatable_parse_str), -netdev "type",
 * -blockdev/-audiodev "driver" (qobject_input_visitor_new_str).
 */
#include <stdlib.h>
#include <string.h>

#include <vfiokit/qemu_cmdline.h>

#define A(n) \
	{ \
		n, true, VK_QC_SYN_NONE, NULL, 0 \
	}
#define F(n) \
	{ \
		n, false, VK_QC_SYN_NONE, NULL, 0 \
	}
#define O(n, k) \
	{ \
		n, true, VK_QC_SYN_OPTS, k, 0 \
	}

/* Sorted by name (bsearch). */
static const struct vk_qc_optdef optdefs[] = {
	A("D"),
	A("L"),
	A("M"),
	F("S"),
	O("accel", "accel"),
	A("acpitable"),
	O("action", NULL),
	O("add-fd", NULL),
	F("alt-grab"),
	A("append"),
	F("async-teardown"),
	O("audio", "driver"),
	F("audio-help"),
	{"audiodev", true, VK_QC_SYN_KEYVAL, "driver", 600},
	O("balloon", NULL),
	A("bios"),
	{"blockdev", true, VK_QC_SYN_KEYVAL, "driver", 209},
	O("boot", "order"),
	A("bt"),
	A("cdrom"),
	O("chardev", "backend"),
	A("chroot"),
	A("clock"),
	A("compat"),
	A("cpu"),
	F("ctrl-grab"),
	F("curses"),
	A("d"),
	F("daemonize"),
	A("debugcon"),
	{"device", true, VK_QC_SYN_OPTS, "driver", 602},
	A("dfilter"),
	O("display", "type"),
	O("drive", NULL),
	A("dtb"),
	A("dump-vmstate"),
	A("echr"),
	F("enable-fips"),
	F("enable-kvm"),
	F("enable-nesting"),
	F("enable-sync-profile"),
	A("fda"),
	A("fdb"),
	O("fsdev", "fsdriver"),
	F("full-screen"),
	O("fw_cfg", NULL),
	A("g"),
	A("gdb"),
	A("global"),
	F("h"),
	A("hda"),
	A("hdb"),
	A("hdc"),
	A("hdd"),
	F("help"),
	O("icount", "shift"),
	A("incoming"),
	A("initrd"),
	O("iscsi", NULL),
	F("jitdump"),
	A("k"),
	A("kernel"),
	A("kvm-shadow-mem"),
	A("loadvm"),
	F("localtime"),
	O("m", "size"),
	O("machine", "type"),
	A("mem-path"),
	F("mem-prealloc"),
	O("mon", "chardev"),
	A("monitor"),
	O("msg", NULL),
	A("mtdblock"),
	O("name", "guest"),
	A("net"),
	{"netdev", true, VK_QC_SYN_KEYVAL, "type", 701},
	O("nic", NULL),
	F("no-acpi"),
	F("no-fd-bootchk"),
	F("no-frame"),
	F("no-hpet"),
	F("no-kvm"),
	F("no-kvm-irqchip"),
	F("no-kvm-pit"),
	F("no-kvm-pit-reinjection"),
	F("no-quit"),
	F("no-reboot"),
	F("no-shutdown"),
	F("no-user-config"),
	F("nodefaults"),
	F("nodefconfig"),
	F("nographic"),
	O("numa", "type"),
	{"object", true, VK_QC_SYN_KEYVAL, "qom-type", 600},
	F("old-param"),
	F("only-migratable"),
	A("option-rom"),
	O("overcommit", NULL),
	A("parallel"),
	A("pcidevice"),
	F("perfmap"),
	A("pflash"),
	A("pidfile"),
	O("plugin", "file"),
	F("portrait"),
	F("preconfig"),
	A("prom-env"),
	A("qmp"),
	A("qmp-pretty"),
	A("qtest"),
	A("qtest-log"),
	A("readconfig"),
	A("realtime"),
	A("rotate"),
	O("rtc", NULL),
	F("rtc-td-hack"),
	O("run-with", NULL),
	A("runas"),
	F("s"),
	O("sandbox", "enable"),
	A("sd"),
	A("seed"),
	F("semihosting"),
	O("semihosting-config", "enable"),
	A("serial"),
	A("set"),
	A("shim"),
	F("show-cursor"),
	F("singlestep"),
	O("smbios", NULL),
	O("smp", "cpus"),
	F("snapshot"),
	A("soundhw"),
	O("spice", NULL),
	A("startdate"),
	A("tb-size"),
	F("tdf"),
	O("tpmdev", "type"),
	A("trace"),
	F("usb"),
	A("usbdevice"),
	A("uuid"),
	F("version"),
	A("vga"),
	O("virtfs", "fsdriver"),
	F("virtfs_synth"),
	A("virtioconsole"),
	A("vnc"),
	A("watchdog"),
	A("watchdog-action"),
	F("win2k-hack"),
	A("writeconfig"),
	F("xen-attach"),
	F("xen-create"),
	A("xen-domid"),
	F("xen-domid-restrict"),
};

static int cmp_def(const void *k, const void *e)
{
	return strcmp(k, ((const struct vk_qc_optdef *)e)->name);
}

const struct vk_qc_optdef *vk_qc_option_lookup(const char *name)
{
	return bsearch(name, optdefs, sizeof(optdefs) / sizeof(optdefs[0]), sizeof(optdefs[0]), cmp_def);
}

/* For the tests: the table must stay sorted for bsearch. */
int vk__qc_optdefs_sorted(void);
int vk__qc_optdefs_sorted(void)
{
	for (size_t i = 1; i < sizeof(optdefs) / sizeof(optdefs[0]); i++)
		if (strcmp(optdefs[i - 1].name, optdefs[i].name) >= 0)
			return -(int)i;
	return 0;
}
