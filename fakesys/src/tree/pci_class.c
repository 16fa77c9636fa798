/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vk_cleanup.h"
#include <vfiokit/host_model.h>

/* Names of the classes fakesys shows without a pci.ids database (from the PCI
 * Code and ID Assignment Specification); first match on (base, sub) wins, then
 * base alone. */
static const struct {
	uint32_t code; /* 0xBBSS: base class and subclass; 0xBBff for "any sub" */
	const char *name;
} classes[] = {
	{0x0000, "Non-VGA unclassified device"},
	{0x0100, "SCSI storage controller"},
	{0x0101, "IDE interface"},
	{0x0104, "RAID bus controller"},
	{0x0106, "SATA controller"},
	{0x0107, "Serial Attached SCSI controller"},
	{0x0108, "Non-Volatile memory controller"},
	{0x01ff, "Mass storage controller"},
	{0x0200, "Ethernet controller"},
	{0x0207, "Infiniband controller"},
	{0x02ff, "Network controller"},
	{0x0300, "VGA compatible controller"},
	{0x0302, "3D controller"},
	{0x03ff, "Display controller"},
	{0x0401, "Multimedia audio controller"},
	{0x0403, "Audio device"},
	{0x04ff, "Multimedia controller"},
	{0x0500, "RAM memory"},
	{0x05ff, "Memory controller"},
	{0x0600, "Host bridge"},
	{0x0601, "ISA bridge"},
	{0x0604, "PCI bridge"},
	{0x0609, "PCI bridge"},
	{0x06ff, "Bridge"},
	{0x0c03, "USB controller"},
	{0x0c05, "SMBus"},
	{0x0cff, "Serial bus controller"},
	{0x1180, "Signal processing controller"},
	{0x11ff, "Signal processing controller"},
	{0x1200, "Processing accelerators"},
	{0x12ff, "Processing accelerators"},
	{0xffff, "Unassigned class"},
};

const char *vk_pci_class_name(uint32_t class_code)
{
	uint32_t bs = class_code >> 8, b = class_code >> 16;

	for (size_t i = 0; i < VK_ARRAY_SIZE(classes); i++)
		if (classes[i].code == bs)
			return classes[i].name;
	for (size_t i = 0; i < VK_ARRAY_SIZE(classes); i++)
		if (classes[i].code == (b << 8 | 0xff))
			return classes[i].name;
	return "Unclassified device";
}
