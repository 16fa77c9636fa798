// SPDX-License-Identifier: LGPL-2.1-or-later
package vfiolookup

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHost serves the scenario ($VK_SCENARIO, default the bundled default
// host) with `fakesys mount` on a fresh directory, unmounted when the test ends.
func fakeHost(t *testing.T, opts ...string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "host")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"mount"}, opts...)
	args = append(args, scenario(), root)
	if out, err := exec.Command(fakesys(), args...).CombinedOutput(); err != nil {
		t.Fatalf("fakesys mount: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(fakesys(), "umount", root).CombinedOutput(); err != nil {
			t.Errorf("fakesys umount: %v: %s", err, out)
		}
	})
	return root
}

func fakesys() string {
	if f := os.Getenv("FAKESYS"); f != "" {
		return f
	}
	return "fakesys"
}

func scenario() string {
	if s := os.Getenv("VK_SCENARIO"); s != "" {
		return s
	}
	s, _ := filepath.Abs("../../scenarios/default.yaml")
	return s
}

func TestGpuHasItsCdev(t *testing.T) {
	root := fakeHost(t)
	got, err := CdevPath(root, "0000:01:00.0")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "dev/vfio/devices/vfio0"); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestNvmeIsNotVfio(t *testing.T) {
	root := fakeHost(t)
	if _, err := CdevPath(root, "0000:02:00.0"); !errors.Is(err, ErrNotVfio) {
		t.Fatalf("got %v, want ErrNotVfio", err)
	}
}

func TestUnbindRemovesTheCdev(t *testing.T) {
	root := fakeHost(t, "--live")
	unbind := filepath.Join(root, "sys/bus/pci/drivers/vfio-pci/unbind")
	if err := os.WriteFile(unbind, []byte("0000:81:02.1"), 0o200); err != nil {
		t.Fatal(err)
	}
	if _, err := CdevPath(root, "0000:81:02.1"); !errors.Is(err, ErrNotVfio) {
		t.Fatalf("after unbind: got %v, want ErrNotVfio", err)
	}
}

// A static Go test binary sees the fake host at the real paths under fakesys run
// (no LD_PRELOAD involved): the test re-runs itself there.
func TestAtTheRealPathsUnderFakesysRun(t *testing.T) {
	if os.Getenv("VK_IN_FAKESYS_RUN") != "" {
		got, err := CdevPath("/", "0000:01:00.1")
		if err != nil || got != "/dev/vfio/devices/vfio1" {
			t.Fatalf("got %q, %v", got, err)
		}
		return
	}
	cmd := exec.Command(fakesys(), "run", scenario(), "--", os.Args[0],
		"-test.run", "^TestAtTheRealPathsUnderFakesysRun$", "-test.v")
	cmd.Env = append(os.Environ(), "VK_IN_FAKESYS_RUN=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("under fakesys run: %v: %s", err, out)
	}
}
