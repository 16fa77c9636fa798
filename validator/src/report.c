/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/validator.h>

#define E VK_SEV_ERROR
#define W VK_SEV_WARNING
#define I VK_SEV_INFO

/* The catalogue.  Ids are stable: a retired rule keeps its id, unused. */
static const struct vk_rule rules[] = {
	/* QEMU command line */
	{"VV001", "vfio.no-host", E, "vfio-pci names no device: neither host=, sysfsdev= nor fd=",
         "add host=DDDD:BB:DD.F, sysfsdev=/sys/bus/pci/devices/DDDD:BB:DD.F, or (with iommufd) fd=N",
         "hw/vfio/pci.c vfio_realize()/vfio_pci_realize(): \"No provided host device\""},
	{"VV002", "vfio.host-and-sysfsdev", W, "vfio-pci has both host= and sysfsdev=; sysfsdev= wins",
         "keep only one of them", "hw/vfio/pci.c vfio_realize(): host= is used only when sysfsdev is unset"},
	{"VV003", "vfio.host-malformed", E, "host= is not an address QEMU accepts",
         "write host=[DDDD:]BB:SS.F in hex (domain <= ffff, slot <= 1f, function <= 7)",
         "hw/core/qdev-properties-system.c set_pci_host_devaddr()"},
	{"VV004", "vfio.host-domain-32bit", E, "host= has a PCI domain above 0xffff, which QEMU refuses",
         "name the device by sysfsdev=/sys/bus/pci/devices/<BDF>, or pass it by fd= with iommufd",
         "hw/core/qdev-properties-system.c set_pci_host_devaddr(): domain > 0xffff is invalid"},
	{"VV005", "vfio.fd-without-iommufd", E, "vfio-pci fd= without an iommufd backend",
         "add -object iommufd,id=iommufd0 and iommufd=iommufd0 on the device",
         "hw/vfio/helpers.c (later hw/vfio/device.c) vfio_device_get_name(): \"Use FD passing only with iommufd backend\""},
	{"VV006", "vfio.iommufd-unknown", E, "iommufd= names no -object iommufd",
         "add -object iommufd,id=<that id>, or fix the id",
         "hw/vfio/pci.c vfio_pci_properties: DEFINE_PROP_LINK(\"iommufd\", ..., TYPE_IOMMUFD_BACKEND, ...)"},
	{"VV007", "qemu.duplicate-id", E, "the same id is used twice",
         "give every -device (and every -object, -netdev, -chardev) its own id",
         "system/qdev-monitor.c qdev_device_add(): \"Duplicate device ID\"; qom/object_interfaces.c user_creatable_add_type()"},
	{"VV008", "vfio.duplicate-host", E, "two vfio-pci devices use the same host device",
         "a host device can be assigned once; remove one of them",
         "hw/vfio/container.c vfio_attach_device() (\"device is already attached\"); iommufd bind of an opened cdev fails with EINVAL"},
	{"VV009", "vfio.duplicate-fd", E, "two devices use the same fd=",
         "open the cdev once per device and pass each FD once",
         "drivers/vfio/device_cdev.c vfio_df_ioctl_bind_iommufd(): a second bind of one cdev FD fails (EINVAL)"},
	{"VV010", "vfio.fd-fdset", E, "fd= names an fd set (/dev/fdset/N), which vfio-pci and iommufd do not accept",
         "pass the FD number itself (fd=N) or a name given to the monitor with getfd",
         "hw/vfio/helpers.c vfio_device_set_fd() and backends/iommufd.c iommufd_backend_set_fd(): monitor_fd_param()"},
	{"VV011", "vfio.fd-named", I, "fd= is not a number: QEMU looks it up as a monitor FD name (getfd)",
         "make sure the FD is passed with the QMP getfd command under that name before the device is added",
         "monitor/fds.c monitor_fd_param(): a non-numeric string is a monitor FD name"},
	{"VV012", "qemu.json-type", E, "a JSON property has the wrong type (QEMU wants a string)",
         "quote the value: \"fd\":\"22\", \"host\":\"0000:06:00.0\"",
         "qapi/qobject-input-visitor.c qobject_input_type_str(): \"Invalid parameter type ... expected: string\""},
	{"VV013", "qemu.unsupported", E, "the target QEMU does not have this option, object or property",
         "use a QEMU that has it (see the message), or the legacy VFIO interface",
         "backends/iommufd.c (9.0), hw/vfio/iommufd.c (9.0); qom/object_interfaces.c JSON -object (6.0); system/vl.c JSON -device (6.2)"},
	{"VV014", "qemu.option-unknown", W, "QEMU has no such option",
         "check the spelling; 'qemu-system-x86_64 -help' lists the options", "qemu-options.hx"},
	{"VV015", "qemu.add-fd-invalid", E, "-add-fd is malformed",
         "write -add-fd fd=N,set=M with N > 2 an FD the program inherits",
         "monitor/fds.c / system/vl.c parse_add_fd(): fd and set are required, fd must not be 0, 1 or 2"},
	{"VV016", "qemu.fdset-unknown", E, "a path /dev/fdset/N names a set no -add-fd defines",
         "add -add-fd fd=M,set=N", "monitor/fds.c monitor_fdset_dup_fd_add()"},
	{"VV017", "iommufd.unused", I, "an iommufd object no device uses",
         "add iommufd=<id> to the vfio-pci devices meant to use it, or remove the object",
         "backends/iommufd.c iommufd_backend_connect() runs only for users"},
	{"VV018", "vfio.host-malformed-sysfsdev", W, "sysfsdev= is not a sysfs device path",
         "write sysfsdev=/sys/bus/pci/devices/DDDD:BB:DD.F (or an mdev path)",
         "hw/vfio/helpers.c vfio_device_get_name(): stat(sysfsdev) must succeed"},

	{"VV019", "qemu.fd-placeholder", I, "an FD value is a libvirt test-suite placeholder (\"@name@\", \"@name@-dup\", \"XXXXXXX\")",
         "nothing to do for a test fixture; a real command line carries an FD number or a getfd name",
         "libvirt tests/qemuxmlconfdata *.args (FD numbers replaced by placeholders)"},

	/* -device against QEMU's device model (vfiokit/qdev_model.h) */
	{"VV020", "qdev.property-unknown", E, "the device type has no such property",
         "check the spelling; 'qemu-system-x86_64 -device TYPE,help' lists the properties",
         "qom/object.c object_property_find_err(): \"Property '%s.%s' not found\", from system/qdev-monitor.c qdev_device_add_from_qdict() -> object_set_properties_from_keyval()"},
	{"VV021", "qdev.property-type", E, "a property value is not of the property's type",
         "write a value of that type (the message names it): a number, on/off, one of the listed values",
         "qapi/qobject-input-visitor.c (keyval and JSON), qapi/qapi-visit-core.c visit_type_uintN()/input_type_enum(), qapi/qapi-util.c qapi_bool_parse(); hw/core/qdev-properties.c"},
	{"VV022", "qdev.pci-addr-invalid", E, "addr= is not a PCI slot[.function] QEMU accepts",
         "write addr=SLOT[.FUNCTION] in hex: slot 0..1f, function 0..7",
         "hw/core/qdev-properties-system.c set_pci_devfn(): \"Property '%s.%s' doesn't take value '%s'\""},
	{"VV023", "pci.multifunction", E, "functions of one PCI slot without multifunction=on on function 0",
         "add multifunction=on to the device at function 0 of the slot",
         "hw/pci/pci.c pci_init_multifunction()"},
	{"VV024", "pci.slot-in-use", E, "the PCI slot and function are already taken",
         "give the device a free addr= (or leave addr= out)",
         "hw/pci/pci.c do_pci_register_device(): \"PCI: slot %d function %d not available for %s, in use by %s\""},
	{"VV025", "qdev.bus-not-found", E, "bus= names no bus that exists at that point of the command line",
         "name the machine's root bus (pcie.0 on q35, pci.0 on pc) or the id of a bridge or root port given earlier",
         "system/qdev-monitor.c qbus_find(): \"Bus '%s' not found\"; hw/pci/pci_bridge.c pci_bridge_initfn() (a bridge's bus is named by its id)"},
	{"VV026", "qdev.device-unknown", E, "QEMU has no such device type",
         "check the spelling; 'qemu-system-x86_64 -device help' lists the types",
         "system/qdev-monitor.c qdev_get_device_class(): \"'%s' is not a valid device model name\""},
	{"VV027", "qemu.key-repeated", W, "a key is given twice in one -device: the last one wins",
         "keep one of them",
         "util/qemu-option.c qemu_opts_to_qdict(): each later value replaces the earlier one"},
	{"VV028", "qdev.json-own-key-ignored", W, "a JSON \"id\" or \"bus\" that is not a string, which QEMU ignores",
         "write it as a JSON string",
         "system/qdev-monitor.c qdev_device_add_from_qdict(): qdict_get_try_str(opts, \"id\"/\"bus\")"},
	{"VV029", "qdev.not-in-table", I, "a device type or property the nearest built-in table does not have",
         "check against the QEMU that will run it: --qemu BINARY (or --qemu-version of a table)",
         "validator/src/qdev_table_*.inc (generated from QEMU's -device help output)"},

	/* host (vk_check_host) */
	{"VV101", "host.device-absent", E, "the host has no such PCI device",
         "check the address with lspci -D; the device may have been removed or renamed",
         "hw/vfio/helpers.c vfio_device_get_name(): \"no such host device\""},
	{"VV102", "host.not-vfio-pci", E, "the device is not bound to vfio-pci",
         "bind it: driverctl set-override <BDF> vfio-pci (or write vfio-pci to driver_override and drivers_probe)",
         "drivers/vfio/pci/vfio_pci.c; hw/vfio/helpers.c vfio_device_get_name()"},
	{"VV103", "host.no-cdev", E, "iommufd is asked for but the device has no VFIO cdev",
         "use a kernel with CONFIG_VFIO_DEVICE_CDEV=y (Linux 6.2+) and IOMMUFD, or use legacy VFIO",
         "hw/vfio/iommufd.c iommufd_cdev_getfd(): opens /dev/vfio/devices/vfioX found under vfio-dev/"},
	{"VV104", "host.group-not-viable", E, "the device's IOMMU group is not viable",
         "bind every device of the group to vfio-pci (or to no driver)",
         "hw/vfio/container.c vfio_get_group(): \"group %d is not viable\""},
	{"VV105", "host.group-node-missing", E, "the device has no IOMMU group node in /dev/vfio",
         "enable the IOMMU (intel_iommu=on / amd_iommu=on) and load vfio-pci",
         "hw/vfio/container.c vfio_get_group(): open /dev/vfio/<group>"},
	{"VV106", "host.no-iommu-group", E, "the device is in no IOMMU group",
         "enable the IOMMU in firmware and on the kernel command line",
         "hw/vfio/helpers.c vfio_get_group_no(): readlink iommu_group"},
	{"VV107", "host.group-kernel-owned", E,
         "the IOMMU group is owned by a kernel driver, so the iommufd bind fails (EPERM)",
         "bind every device of the group to vfio-pci (or unbind them); a bridge may stay on pcieport",
         "hw/vfio/iommufd.c iommufd_cdev_connect_and_bind(): \"error bind device fd=%d to iommufd=%d\"; "
         "drivers/vfio/device_cdev.c vfio_df_ioctl_bind_iommufd() -> drivers/iommu/iommufd/device.c iommufd_device_bind() "
         "-> drivers/iommu/iommu.c iommu_device_claim_dma_owner(): -EPERM while another owner holds owner_cnt, taken by a "
         "member's driver at probe (drivers/pci/pci-driver.c pci_dma_configure() -> iommu_device_use_default_domain(), "
         "skipped for driver_managed_dma: vfio-pci, pci-stub, pcieport)"},

	/* live FDs (vk_check_fds) */
	{"VV201", "fd.not-open", E, "an fd= number is not open in the process",
         "pass the FD to QEMU (keep it open across exec)", "monitor/fds.c monitor_fd_param()"},
	{"VV202", "fd.cloexec", E, "an fd= number is close-on-exec: QEMU will not inherit it",
         "clear FD_CLOEXEC in the child before exec", "execve(2)"},
	{"VV203", "fd.not-rdwr", E, "an fd= FD is not open for reading and writing",
         "open the node with O_RDWR", "drivers/vfio/vfio_main.c vfio_device_fops_cdev_open(); backends/iommufd.c"},
	{"VV204", "fd.wrong-device", E, "an fd= FD is not the VFIO cdev of the device named by host=/sysfsdev=",
         "open /dev/vfio/devices/vfioX where X comes from /sys/bus/pci/devices/<BDF>/vfio-dev/",
         "hw/vfio/iommufd.c iommufd_cdev_getfd(): the cdev's st_rdev must match vfio-dev/vfioX/dev"},
	{"VV205", "fd.iommufd-not-dev-iommu", E, "the iommufd object's FD is not /dev/iommu",
         "open /dev/iommu (O_RDWR) and pass that FD", "backends/iommufd.c iommufd_backend_connect()"},
	{"VV206", "fd.leaked", W, "an open VFIO/iommufd FD that the command line does not use",
         "open device FDs with O_CLOEXEC and clear it only on the FDs passed",
         "a leaked cdev FD keeps the device open (and bound) for the process' lifetime"},
	{"VV207", "fd.not-vfio-cdev", E, "an fd= FD of vfio-pci is not a VFIO device cdev",
         "open /dev/vfio/devices/vfioX", "hw/vfio/iommufd.c iommufd_cdev_attach(): VFIO_DEVICE_BIND_IOMMUFD"},

#include "doctor_rules.inc" /* vfio-doctor: VD0xx..VD3xx */
};

const struct vk_rule *vk_rules(size_t *n)
{
	*n = VK_ARRAY_SIZE(rules);
	return rules;
}

const struct vk_rule *vk_rule_find(const char *id)
{
	for (size_t i = 0; i < VK_ARRAY_SIZE(rules); i++)
		if (strcmp(rules[i].id, id) == 0 || strcmp(rules[i].name, id) == 0)
			return &rules[i];
	return NULL;
}

const char *vk_severity_name(enum vk_severity s)
{
	switch (s) {
	case VK_SEV_ERROR:
		return "error";
	case VK_SEV_WARNING:
		return "warning";
	default:
		return "info";
	}
}

int vk_report_add(struct vk_report *r, const char *rule_id, const char *subject, long argi,
                  unsigned line, const char *evidence, const char *hint, const char *fmt, ...)
{
	const struct vk_rule *rule = vk_rule_find(rule_id);
	struct vk_finding f = {0};
	va_list ap;
	int n;

	if (!rule)
		return -EINVAL;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct vk_finding *nf = realloc(r->findings, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		r->findings = nf;
		r->cap = cap;
	}
	f.rule = rule;
	f.severity = rule->severity;
	f.argi = argi;
	f.line = line;
	va_start(ap, fmt);
	n = vasprintf(&f.message, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	f.subject = subject ? strdup(subject) : NULL;
	f.evidence = evidence ? strdup(evidence) : NULL;
	f.hint = strdup(hint ? hint : rule->hint);
	if ((subject && !f.subject) || (evidence && !f.evidence) || !f.hint) {
		free(f.message);
		free(f.subject);
		free(f.evidence);
		free(f.hint);
		return -ENOMEM;
	}
	r->findings[r->n++] = f;
	return 0;
}

size_t vk_report_count(const struct vk_report *r, enum vk_severity s)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->findings[i].severity == s;
	return n;
}

const struct vk_finding *vk_report_find(const struct vk_report *r, const char *id)
{
	const struct vk_rule *rule = vk_rule_find(id);
	for (size_t i = 0; rule && i < r->n; i++)
		if (r->findings[i].rule == rule)
			return &r->findings[i];
	return NULL;
}

void vk_report_clear(struct vk_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->findings[i].subject);
		free(r->findings[i].message);
		free(r->findings[i].hint);
		free(r->findings[i].evidence);
	}
	free(r->findings);
	memset(r, 0, sizeof(*r));
}

int vk_report_print(const struct vk_report *r, FILE *f, bool color)
{
	static const char *const col[] = {"\033[36m", "\033[33m", "\033[1;31m"};
	const char *reset = color ? "\033[0m" : "";

	for (size_t i = 0; i < r->n; i++) {
		const struct vk_finding *x = &r->findings[i];
		fprintf(f, "%s%-7s%s %s", color ? col[x->severity] : "", vk_severity_name(x->severity), reset,
		        x->rule->id);
		if (x->line)
			fprintf(f, " line %u", x->line);
		if (x->argi >= 0)
			fprintf(f, " arg %ld", x->argi);
		if (x->subject)
			fprintf(f, " [%s]", x->subject);
		fprintf(f, ": %s", x->message);
		if (x->evidence)
			fprintf(f, " (%s)", x->evidence);
		fprintf(f, "\n        hint: %s\n", x->hint);
	}
	if (fflush(f) != 0 || ferror(f))
		return -(errno ? errno : EIO);
	return 0;
}

char *vk_report_json(const struct vk_report *r, const char *extra)
{
	json_t *root = json_object(), *arr = json_array();
	char *out = NULL;

	if (!root || !arr)
		goto out;
	for (size_t i = 0; i < r->n; i++) {
		const struct vk_finding *x = &r->findings[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", x->rule->id, "name", x->rule->name,
		                      "severity", vk_severity_name(x->severity), "message", x->message, "hint",
		                      x->hint);
		if (!o)
			goto out;
		json_object_set_new(o, "subject", x->subject ? json_string(x->subject) : json_null());
		json_object_set_new(o, "evidence", x->evidence ? json_string(x->evidence) : json_null());
		json_object_set_new(o, "argument", x->argi >= 0 ? json_integer(x->argi) : json_null());
		json_object_set_new(o, "line", x->line ? json_integer(x->line) : json_null());
		json_object_set_new(o, "source", json_string(x->rule->source));
		json_array_append_new(arr, o);
	}
	json_object_set(root, "findings", arr);
	json_object_set_new(root, "errors", json_integer((json_int_t)vk_report_count(r, VK_SEV_ERROR)));
	json_object_set_new(root, "warnings", json_integer((json_int_t)vk_report_count(r, VK_SEV_WARNING)));
	json_object_set_new(root, "infos", json_integer((json_int_t)vk_report_count(r, VK_SEV_INFO)));
	if (extra) {
		json_t *e = json_loads(extra, 0, NULL);
		if (e && json_is_object(e))
			json_object_update(root, e);
		json_decref(e);
	}
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	json_decref(arr);
	json_decref(root);
	return out;
}
