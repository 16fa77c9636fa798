# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests of vfio_lookup.cdev_path against the fake hosts of conftest.py."""
import os
import subprocess
import sys

import pytest

from conftest import FAKESYS, HERE, SCENARIO
from vfio_lookup import NotVfio, cdev_path


def test_gpu_on_vfio_pci_has_its_cdev(fake_host):
    path = cdev_path("0000:01:00.0", root=str(fake_host))
    assert path == os.path.join(str(fake_host), "dev/vfio/devices/vfio0")
    assert os.path.exists(path)


def test_nvme_is_not_vfio(fake_host):
    with pytest.raises(NotVfio):
        cdev_path("0000:02:00.0", root=str(fake_host))


def test_absent_device(fake_host):
    with pytest.raises(FileNotFoundError):
        cdev_path("0000:ff:1f.7", root=str(fake_host))


def test_unbinding_removes_the_cdev(fake_live_host):
    """A live host acts on sysfs writes: unbinding from vfio-pci removes vfio-dev/."""
    root = str(fake_live_host)
    assert cdev_path("0000:81:02.1", root=root).endswith("vfio2")
    with open(os.path.join(root, "sys/bus/pci/drivers/vfio-pci/unbind"), "w") as f:
        f.write("0000:81:02.1")
    with pytest.raises(NotVfio):
        cdev_path("0000:81:02.1", root=root)


def test_at_the_real_paths_under_fakesys_run():
    """The unmodified lookup, root "/", in fakesys run's private namespace."""
    code = f"import sys; sys.path.insert(0, {HERE!r}); import vfio_lookup; print(vfio_lookup.cdev_path('0000:01:00.1'))"
    out = subprocess.run([FAKESYS, "run", SCENARIO, "--", sys.executable, "-c", code],
                         check=True, capture_output=True, text=True).stdout
    assert out.strip() == "/dev/vfio/devices/vfio1"
