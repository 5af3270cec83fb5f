//go:build !linux

package sysio

import "os"

func linkCount(f *os.File) (uint64, error) { return 1, nil }

func fsSpace(f *os.File) (Space, error) { return Space{}, ErrNotSupported }

func flock(f *os.File, exclusive, wait bool) error { return ErrNotSupported }

func funlock(f *os.File) error { return nil }

func removeAt(dir *os.File, name string, f *os.File) error { return ErrNotSupported }
