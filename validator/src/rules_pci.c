/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The PCI topology a command line builds, device by device in command-line
 * order as qemu_create_cli_devices() adds them (VV023 multifunction, VV024
 * slot in use, VV025 bus not found):
 *  - system/qdev-monitor.c qdev_device_add_from_qdict() -> qbus_find():
 *    "Bus '%s' not found" unless a bus of that name exists at that point: the
 *    machine's root bus (pcie.0 on q35, pci.0 on pc) or the bus of a bridge
 *    added earlier, named by the bridge's id (hw/pci/pci_bridge.c
 *    pci_bridge_initfn(): br->bus_name = dev->qdev.id; hw/pci-bridge/
 *    pci_expander_bridge.c pxb_dev_realize_common(): the root bus named by id);
 *  - hw/pci/pci.c do_pci_register_device(): an addr= whose devfn is taken:
 *    "PCI: slot %d function %d not available for %s, in use by %s,id=%s";
 *    without addr= the first slot from devfn_min whose function 0 is free;
 *  - hw/pci/pci.c pci_init_multifunction(): a function > 0 beside a function
 *    0 without multifunction=on: "PCI: single function device can't be
 *    populated in function %x.%x"; a function 0 without it when a function > 0
 *    is there: "PCI: %x.0 indicates single function, but %x.%x is already
 *    populated.".
 * Where the rules cannot know (an unknown machine type, devices QEMU adds by
 * itself without -nodefaults) they stay silent rather than guess.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/validator.h>

#include "rules.h"

/* Device types whose secondary bus is named by their id (PCI-PCI bridges, expander bridges). */
static const char *const bridges[] = {
	"pcie-root-port",
	"ioh3420",
	"pci-bridge",
	"pci-bridge-seat",
	"pcie-pci-bridge",
	"i82801b11-bridge",
	"x3130-upstream",
	"xio3130-downstream",
	"pxb",
	"pxb-pcie",
	"pxb-cxl",
	"cxl-rp",
	"cxl-upstream",
	"cxl-downstream",
	"dec-21154-p2p-bridge",
};

static bool is_bridge(const char *type)
{
	for (size_t i = 0; type && i < VK_ARRAY_SIZE(bridges); i++)
		if (strcmp(type, bridges[i]) == 0)
			return true;
	return false;
}

struct occ {
	int devfn;
	bool mf;
	long argi;        /* -1: built in */
	const char *what; /* the type: "vfio-pci", "mch" (strings of the command line or static) */
	const char *id;   /* its id, NULL when none */
};

/* As QEMU names the device in its message: "vfio-pci,id=hostdev0", "vfio-pci,id=(null)"; built in: "mch". */
static const char *occ_name(const struct occ *o, char *buf, size_t len)
{
	if (o->argi < 0)
		return o->what;
	snprintf(buf, len, "%s,id=%s", o->what, o->id ? o->id : "(null)");
	return buf;
}

struct pbus {
	const char *name;
	bool auto_ok; /* we know every device placed without addr= */
	struct occ *occ;
	size_t nocc, cap;
};

/* The machine: its root bus and the devices it puts there itself (hw/i386/pc_q35.c, pc_piix.c). */
struct machine {
	const char *root; /* NULL: not known, the root bus is not judged */
	const struct occ *builtin;
	size_t nbuiltin;
	const char *const *other_buses; /* non-PCI buses it has: a PCI device there is not our call */
};

static const struct occ q35_builtin[] = {
	{0x00, false, -1, "mch", NULL},       /* pc_q35_init(): host bridge 00.0 */
	{0xf8, true, -1, "ICH9-LPC", NULL},   /* 1f.0, multifunction */
	{0xfa, false, -1, "ich9-ahci", NULL}, /* 1f.2 (sata=on, the default) */
	{0xfb, false, -1, "ICH9-SMB", NULL},  /* 1f.3 (smbus=on, the default) */
};
static const struct occ pc_builtin[] = {
	{0x00, false, -1, "i440FX", NULL},    /* pc_init1(): host bridge 00.0 */
	{0x08, true, -1, "PIIX3", NULL},      /* 01.0, multifunction */
	{0x09, false, -1, "piix3-ide", NULL}, /* 01.1 */
	{0x0b, false, -1, "PIIX4_PM", NULL},  /* 01.3 (acpi=on, the default) */
};
static const char *const q35_other[] = {"ide.0", "ide.1", "ide.2", "ide.3", "ide.4", "ide.5", "isa.0", "i2c", NULL};
static const char *const pc_other[] = {"ide.0", "ide.1", "isa.0", "i2c", NULL};

static const char *machine_type(const struct vk_qc_cmdline *c)
{
	const char *type = NULL;

	/* -machine options merge (qemu_opts "machine" merge_lists): the last type= wins */
	for (size_t i = 0; i < c->nopts; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		if (!o->def)
			continue;
		if (strcmp(o->def->name, "machine") == 0 && vk_qc_option_get(o, "type"))
			type = vk_qc_option_get(o, "type");
		else if (strcmp(o->def->name, "M") == 0 && o->arg)
			type = o->arg; /* compared up to ',' below */
	}
	if (!type && c->has_program) {
		const char *b = strrchr(c->argv[0], '/');
		b = b ? b + 1 : c->argv[0];
		if (strcmp(b, "qemu-system-x86_64") == 0 || strcmp(b, "qemu-system-i386") == 0)
			type = "pc"; /* the default machine of those targets */
	}
	return type;
}

static bool type_is(const char *t, const char *name)
{
	size_t n = strlen(name);
	return strncmp(t, name, n) == 0 && (t[n] == '\0' || t[n] == ',');
}

static void machine_of(const struct vk_qc_cmdline *c, struct machine *m)
{
	const char *t = machine_type(c);

	memset(m, 0, sizeof(*m));
	if (!t)
		return;
	if (type_is(t, "q35") || strncmp(t, "pc-q35-", 7) == 0) {
		*m = (struct machine){"pcie.0", q35_builtin, VK_ARRAY_SIZE(q35_builtin), q35_other};
	} else if (type_is(t, "pc") || strncmp(t, "pc-i440fx-", 10) == 0 || strncmp(t, "pc-0.", 5) == 0 ||
	           strncmp(t, "pc-1.", 5) == 0) {
		*m = (struct machine){"pci.0", pc_builtin, VK_ARRAY_SIZE(pc_builtin), pc_other};
	}
}

/*
 * Options that add no PCI device of their own.  With -nodefaults and only
 * these, every device on the root bus is one of the -device options, so where
 * QEMU puts a device without addr= can be followed.
 */
static bool adds_no_pci_device(const char *name)
{
	static const char *const ok[] = {
		"machine",
		"M",
		"m",
		"accel",
		"cpu",
		"smp",
		"enable-kvm",
		"nodefaults",
		"no-user-config",
		"S",
		"qmp",
		"qmp-pretty",
		"monitor",
		"mon",
		"chardev",
		"object",
		"blockdev",
		"netdev",
		"name",
		"uuid",
		"display",
		"nographic",
		"no-reboot",
		"no-shutdown",
		"add-fd",
		"device",
		"rtc",
		"overcommit",
		"sandbox",
		"msg",
		"pidfile",
		"daemonize",
		"D",
		"d",
		"trace",
		"boot",
		"global",
		"serial",
		"parallel",
		"vga",
		"L",
		"bios",
		"kernel",
		"initrd",
		"append",
		"preconfig",
		"numa",
		"run-with",
		"compat",
		"sp",
		"k",
	};
	for (size_t i = 0; i < VK_ARRAY_SIZE(ok); i++)
		if (strcmp(name, ok[i]) == 0)
			return true;
	return false;
}

static bool root_auto_known(const struct vk_qc_cmdline *c)
{
	bool nodefaults = false;

	for (size_t i = 0; i < c->nopts; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		if (o->is_image || !o->def || !adds_no_pci_device(o->def->name))
			return false;
		if (strcmp(o->def->name, "vga") == 0 && (!o->arg || strcmp(o->arg, "none") != 0))
			return false;
		if (strcmp(o->def->name, "nodefaults") == 0)
			nodefaults = true;
	}
	return nodefaults;
}

/* A string -> index map (open addressing), so that a long command line stays O(n). */
struct strmap {
	const char **keys;
	size_t *vals;
	size_t cap, n;
};

static size_t str_hash(const char *s)
{
	size_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static int strmap_init(struct strmap *m, size_t n)
{
	m->cap = 16;
	while (m->cap < n * 2 + 1)
		m->cap *= 2;
	m->keys = calloc(m->cap, sizeof(*m->keys));
	m->vals = calloc(m->cap, sizeof(*m->vals));
	m->n = 0;
	return m->keys && m->vals ? 0 : -ENOMEM;
}

static void strmap_free(struct strmap *m)
{
	free(m->keys);
	free(m->vals);
}

static size_t *strmap_slot(const struct strmap *m, const char *k, bool *found)
{
	size_t i = str_hash(k) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], k) != 0)
		i = (i + 1) & (m->cap - 1);
	*found = m->keys[i] != NULL;
	return &m->vals[i];
}

/* Insert unless present (the first one stays); the map is sized for every insert. */
static void strmap_put(struct strmap *m, const char *k, size_t v)
{
	bool found;
	size_t *slot = strmap_slot(m, k, &found);
	if (!found) {
		m->keys[slot - m->vals] = k;
		*slot = v;
		m->n++;
	}
}

static bool strmap_get(const struct strmap *m, const char *k, size_t *v)
{
	bool found;
	size_t *slot = strmap_slot(m, k, &found);
	if (found)
		*v = *slot;
	return found;
}

struct topo {
	const struct vk_qc_cmdline *c;
	const struct vk_qemu_caps *caps;
	struct machine mach;
	struct pbus *buses;
	size_t nbuses;
	struct strmap busmap; /* bus name -> index into buses */
	struct strmap ids;    /* -device id -> option index (the first) */
	bool unnamed_bridge;  /* a bridge without id: its bus has a name QEMU made up */
	struct vk_report *r;
};

static int occ_add(struct pbus *b, const struct occ *o)
{
	if (b->nocc == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 8;
		struct occ *p = realloc(b->occ, nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->occ = p;
		b->cap = nc;
	}
	b->occ[b->nocc++] = *o;
	return 0;
}

static const struct occ *occ_at(const struct pbus *b, int devfn)
{
	for (size_t i = 0; i < b->nocc; i++) /* at most 256 entries: a devfn is taken once */
		if (b->occ[i].devfn == devfn)
			return &b->occ[i];
	return NULL;
}

static struct pbus *bus_add(struct topo *t, const char *name, bool auto_ok)
{
	struct pbus *b = &t->buses[t->nbuses];

	memset(b, 0, sizeof(*b));
	b->name = name;
	b->auto_ok = auto_ok;
	strmap_put(&t->busmap, name, t->nbuses++);
	return b;
}

#define ADDO(rule, o, ev, hint, ...) \
	do { \
		char subj_[128]; \
		vk__subject((o), subj_, sizeof(subj_)); \
		int r_ = vk_report_add(t->r, rule, subj_, (o)->argi, (o)->line, ev, hint, __VA_ARGS__); \
		if (r_ < 0) \
			return r_; \
	} while (0)

static bool in_list(const char *const *l, const char *s)
{
	for (; l && *l; l++)
		if (strcmp(*l, s) == 0)
			return true;
	return false;
}

/* The bus a PCI device goes on; NULL with *@judged false when these rules cannot tell. */
static int find_bus(struct topo *t, const struct vk_qc_option *o, size_t i, struct pbus **out)
{
	const char *name = vk_qc_option_get(o, "bus");
	const struct vk_qc_prop *bp = vk_qc_option_prop(o, "bus");
	size_t k;
	char ev[256];

	*out = NULL;
	if (bp && bp->kind != VK_QC_V_STRING)
		name = NULL; /* JSON: ignored (VV028) */
	if (!name) {
		if (t->mach.root && strmap_get(&t->busmap, t->mach.root, &k))
			*out = &t->buses[k];
		return 0;
	}
	if (strmap_get(&t->busmap, name, &k)) {
		*out = &t->buses[k];
		return 0;
	}
	/* a path, a bus of the machine that is not PCI, or a name QEMU may have made up: not judged */
	if (strchr(name, '/') || in_list(t->mach.other_buses, name) || t->unnamed_bridge)
		return 0;
	snprintf(ev, sizeof(ev), "bus=%s", name);
	if (strmap_get(&t->ids, name, &k) && k > i) {
		ADDO("VV025", o, ev, "define the bus (its -device) before the devices that go on it",
		     "Bus '%s' not found: -device ...,id=%s comes later (argument %ld), and QEMU adds devices in command-line order",
		     name, name, t->c->opts[k].argi);
		return 0;
	}
	if (strmap_get(&t->ids, name, &k)) {
		const char *ty = vk_qc_option_type(&t->c->opts[k]);
		ADDO("VV025", o, ev, "name the id of a PCI bridge or root port, or the machine's root bus",
		     "Bus '%s' not found: '%s' is a %s (argument %ld), which has no bus of that name", name, name,
		     ty ? ty : "device", t->c->opts[k].argi);
		return 0;
	}
	/* the id of an earlier -object, "X.0" of an earlier device: a bus QEMU names otherwise; not ours */
	const char *dot = strrchr(name, '.');
	if (dot) {
		char base[256];
		snprintf(base, sizeof(base), "%.*s", (int)(dot - name), name);
		if (strmap_get(&t->ids, base, &k) && k < i)
			return 0;
	}
	if (!t->mach.root)
		return 0;
	ADDO("VV025", o, ev, NULL, "Bus '%s' not found: the machine's root bus is %s and no bridge before has id=%s", name,
	     t->mach.root, name);
	return 0;
}

static bool prop_on(const struct vk_qc_option *o, const char *key)
{
	const struct vk_qc_prop *p = vk_qc_option_prop(o, key);

	if (!p)
		return false;
	return p->kind == VK_QC_V_BOOL ? strcmp(p->value, "true") == 0 : p->kind == VK_QC_V_STRING && vk__qemu_bool(p->value) == 1;
}

/* VV023: hw/pci/pci.c pci_init_multifunction(), run as the device is realized. */
static int check_multifunction(struct topo *t, const struct vk_qc_option *o, const struct pbus *b, int devfn, bool mf)
{
	int slot = devfn >> 3, fn = devfn & 7;
	char ev[256];

	if (fn) {
		const struct occ *f0 = occ_at(b, slot << 3);
		if (f0 && !f0->mf) {
			char nm[160];
			snprintf(ev, sizeof(ev), "%s %x.0 is %s without multifunction=on", b->name, slot,
			         occ_name(f0, nm, sizeof(nm)));
			ADDO("VV023", o, ev, "add multifunction=on to the device at function 0 of that slot",
			     "PCI: single function device can't be populated in function %x.%x", slot, fn);
		}
		return 0;
	}
	if (mf)
		return 0;
	for (int f = 1; f < 8; f++) {
		const struct occ *x = occ_at(b, slot << 3 | f);
		if (!x)
			continue;
		char nm[160];
		snprintf(ev, sizeof(ev), "%s %x.%x is %s", b->name, slot, f, occ_name(x, nm, sizeof(nm)));
		ADDO("VV023", o, ev, "add multifunction=on to this device (function 0 of the slot)",
		     "PCI: %x.0 indicates single function, but %x.%x is already populated.", slot, slot, f);
		return 0;
	}
	return 0;
}

/* Put a PCI device on its bus as do_pci_register_device() does (VV024), then VV023. */
static int place(struct topo *t, const struct vk_qc_option *o, struct pbus *b, const char *type, const char *id)
{
	const struct vk_qc_prop *ap = vk_qc_option_prop(o, "addr");
	int devfn = -1;
	char ev[256], nm[160];

	if (ap && vk__pci_devfn_parse(ap, &devfn) < 0)
		return 0; /* VV022 */
	if (devfn < 0) {
		if (!b->auto_ok)
			return 0;
		for (int d = 0; d < 256 && devfn < 0; d += 8)
			if (!occ_at(b, d))
				devfn = d;
		if (devfn < 0)
			return 0;
	} else {
		const struct occ *x = occ_at(b, devfn);
		if (x) {
			snprintf(ev, sizeof(ev), "%s %x.%x", b->name, devfn >> 3, devfn & 7);
			ADDO("VV024", o, ev, "give the device a free addr= (or leave addr= out)",
			     "PCI: slot %d function %d not available for %s, in use by %s%s", devfn >> 3, devfn & 7,
			     type, occ_name(x, nm, sizeof(nm)), x->argi >= 0 ? "" : " (built into the machine)");
			return 0;
		}
	}
	bool mf = prop_on(o, "multifunction");
	int ret = check_multifunction(t, o, b, devfn, mf);
	if (ret < 0)
		return ret;
	return occ_add(b, &(struct occ){devfn, mf, o->argi, type, id});
}

static int walk(struct topo *t)
{
	const struct vk_qc_cmdline *c = t->c;
	int ret;

	if (t->mach.root) {
		struct pbus *root = bus_add(t, t->mach.root, root_auto_known(c));
		for (size_t k = 0; k < t->mach.nbuiltin; k++)
			if ((ret = occ_add(root, &t->mach.builtin[k])) < 0)
				return ret;
	}
	for (size_t i = 0; i < c->nopts; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		const char *type = vk_qc_option_type(o), *id;
		const struct vk_qdev_type *mt;
		struct pbus *b = NULL;

		if (!o->def || strcmp(o->def->name, "device") != 0 || !type)
			continue;
		mt = vk_qdev_model_type(t->caps->model, type);
		id = vk_qc_option_get(o, "id");
		if (vk_qc_option_prop(o, "id") && vk_qc_option_prop(o, "id")->kind != VK_QC_V_STRING)
			id = NULL;
		if (!mt || !mt->bus) {
			/* a device these rules do not know might be PCI and take a slot */
			if (t->nbuses && !vk_qc_option_get(o, "bus"))
				t->buses[0].auto_ok = false;
			continue;
		}
		if (strcmp(mt->bus, "PCI") != 0)
			continue;
		if ((ret = find_bus(t, o, i, &b)) < 0)
			return ret;
		if (b && (ret = place(t, o, b, mt->name, id)) < 0)
			return ret;
		if (is_bridge(mt->name)) {
			if (!id)
				t->unnamed_bridge = true;
			else if (!strmap_get(&t->busmap, id, &(size_t){0}))
				bus_add(t, id, true);
		}
	}
	return 0;
}

int vk__check_pci_topology(const struct vk_qc_cmdline *c, const struct vk_qemu_caps *caps, struct vk_report *r)
{
	struct topo t = {.c = c, .caps = caps, .r = r};
	size_t ndev = 1;
	int ret = -ENOMEM;

	for (size_t i = 0; i < c->nopts; i++)
		ndev += c->opts[i].def && strcmp(c->opts[i].def->name, "device") == 0;
	machine_of(c, &t.mach);
	t.buses = calloc(ndev, sizeof(*t.buses));
	if (!t.buses || strmap_init(&t.busmap, ndev) < 0 || strmap_init(&t.ids, ndev) < 0)
		goto out;
	for (size_t i = 0; i < c->nopts; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		const struct vk_qc_prop *id = vk_qc_option_prop(o, "id");
		if (o->def && strcmp(o->def->name, "device") == 0 && id && id->kind == VK_QC_V_STRING)
			strmap_put(&t.ids, id->value, i);
	}
	ret = walk(&t);
out:
	for (size_t k = 0; k < t.nbuses; k++)
		free(t.buses[k].occ);
	free(t.buses);
	strmap_free(&t.busmap);
	strmap_free(&t.ids);
	return ret;
}
