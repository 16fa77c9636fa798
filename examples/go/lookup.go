// SPDX-License-Identifier: LGPL-2.1-or-later

// Package vfiolookup is the code under test of the go test recipe
// (docs/recipes.md): find the VFIO cdev of a PCI device as a management layer
// does.  It takes a root directory so that a test can point it at a fakesys
// mount; under `fakesys run` the root is "/".
package vfiolookup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// ErrNotVfio: the device exists but gives no VFIO cdev.
var ErrNotVfio = errors.New("no VFIO cdev")

var vfioName = regexp.MustCompile(`^vfio[0-9]+$`)

// CdevPath returns root/dev/vfio/devices/vfioN for the PCI device bdf.
func CdevPath(root, bdf string) (string, error) {
	dev := filepath.Join(root, "sys/bus/pci/devices", bdf)
	if _, err := os.Stat(dev); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(filepath.Join(dev, "vfio-dev"))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s: no vfio-dev/: %w", bdf, ErrNotVfio)
	} else if err != nil {
		return "", err
	}
	var nodes []string
	for _, e := range entries {
		if vfioName.MatchString(e.Name()) {
			nodes = append(nodes, e.Name())
		}
	}
	if len(nodes) != 1 {
		return "", fmt.Errorf("%s: vfio-dev/ holds %d vfioN: %w", bdf, len(nodes), ErrNotVfio)
	}
	return filepath.Join(root, "dev/vfio/devices", nodes[0]), nil
}
