# SPDX-License-Identifier: LGPL-2.1-or-later
"""The code under test: find the VFIO cdev of a PCI device, as a management
layer does (sysfs vfio-dev/vfioN -> /dev/vfio/devices/vfioN).  It takes a root
directory so that a test can point it at a fakesys mount; under `fakesys run`
the root is "/" and the fake host is at the real paths."""
import os
import re


class NotVfio(Exception):
    """The device exists but gives no VFIO cdev (not on vfio-pci, or no cdev)."""


def cdev_path(bdf, root="/"):
    """Return /dev/vfio/devices/vfioN (under root) for the PCI device bdf."""
    dev = os.path.join(root, "sys/bus/pci/devices", bdf)
    if not os.path.isdir(dev):
        raise FileNotFoundError(f"{bdf}: no such PCI device under {root}")
    try:
        names = os.listdir(os.path.join(dev, "vfio-dev"))
    except FileNotFoundError:
        raise NotVfio(f"{bdf}: no vfio-dev/ (not bound to vfio-pci)") from None
    nodes = [n for n in names if re.fullmatch(r"vfio[0-9]+", n)]
    if len(nodes) != 1:
        raise NotVfio(f"{bdf}: vfio-dev/ holds {names}, want one vfioN")
    return os.path.join(root, "dev/vfio/devices", nodes[0])
