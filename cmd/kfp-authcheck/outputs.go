package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// checkOutputs finds, before anything starts, that --out or --archive cannot be written: a report that cannot be
// written after every check ran is a wasted run. It creates nothing (--dry-run touches nothing either): the
// directory, or the nearest existing one above it, must be a directory this process may write to.
func checkOutputs(outDir, archive string) error {
	if outDir != "" {
		if err := writableDir(outDir, true); err != nil {
			return fmt.Errorf("--out %s: %w", outDir, err)
		}
	}
	if archive != "" {
		fi, err := os.Stat(archive)
		switch {
		case err == nil && fi.IsDir():
			return fmt.Errorf("--archive %s is a directory; give a file name (results.tar.gz)", archive)
		case err == nil && !fi.Mode().IsRegular():
			return fmt.Errorf("--archive %s is not a regular file", archive)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("--archive %s: %w", archive, err)
		}
		if err := writableDir(filepath.Dir(archive), false); err != nil {
			return fmt.Errorf("--archive %s: %w", archive, err)
		}
	}
	return nil
}

// writableDir checks dir (created later when mayCreate, so the nearest existing ancestor counts then).
func writableDir(dir string, mayCreate bool) error {
	d := filepath.Clean(dir)
	for {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			if err := unix.Access(d, unix.W_OK|unix.X_OK); err != nil {
				return fmt.Errorf("directory %s is not writable: %w", d, err)
			}
			return nil
		}
		if !(errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) || !mayCreate {
			return err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return err
		}
		d = parent
	}
}
