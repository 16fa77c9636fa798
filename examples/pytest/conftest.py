# SPDX-License-Identifier: LGPL-2.1-or-later
"""pytest fixtures over fakesys (docs/recipes.md).

fake_host: the scenario in $VK_SCENARIO (default: the bundled default host)
served with `fakesys mount` on a fresh directory, unmounted after the test.
fake_live_host: the same with --live, where sysfs writes act as the kernel's.
"""
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKESYS = os.environ.get("FAKESYS") or shutil.which("fakesys") or "fakesys"
SCENARIO = os.environ.get("VK_SCENARIO") or os.path.join(HERE, "../../scenarios/default.yaml")


def _mount(tmp_path, *opts):
    root = tmp_path / "host"
    root.mkdir()
    subprocess.run([FAKESYS, "mount", *opts, SCENARIO, str(root)], check=True)
    return root


@pytest.fixture
def fake_host(tmp_path):
    root = _mount(tmp_path)
    yield root
    subprocess.run([FAKESYS, "umount", str(root)], check=True)


@pytest.fixture
def fake_live_host(tmp_path):
    root = _mount(tmp_path, "--live")
    yield root
    subprocess.run([FAKESYS, "umount", str(root)], check=True)
