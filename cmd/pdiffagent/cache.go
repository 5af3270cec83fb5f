package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/spf13/pflag"
)

// cacheOff as --cache-dir keeps no cache on this side: nothing is
// recorded, nothing trusted.
const cacheOff = "off"

// cacheOptions select a side's block-hash cache (engine/cache): where its
// records live and whether a block device may have one.
type cacheOptions struct {
	CacheDir   string
	TrustCache bool
}

// AddFlags registers --cache-dir and --trust-cache.
func (o *cacheOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.CacheDir, "cache-dir", "", "block-hash cache directory, mode 0700 (default: \"cache\" inside the identity directory; \"off\": keep no cache on this side)")
	f.BoolVar(&o.TrustCache, "trust-cache", false, "keep block-hash records for block devices too: only for devices nothing but pdiffagent writes (a device's ctime does not move on writes)")
}

// open opens the cache. A default directory that cannot be used only
// costs the cache (a warning); a named one is an error.
func (o *cacheOptions) open(identityDir string) (*cache.Store, error) {
	dir := o.CacheDir
	if dir == cacheOff {
		return nil, nil
	}
	if dir == "" {
		dir = cache.DefaultDir(identityDir)
	}
	s, err := cache.Open(cache.Options{Dir: dir, TrustDevice: o.TrustCache})
	if err != nil && o.CacheDir == "" {
		fmt.Fprintf(os.Stderr, "pdiffagent: warning: no block-hash cache: %v\n", err)
		return nil, nil
	}
	return s, err
}

// insideRoot reports whether dir is root or beneath it (after resolving
// symbolic links as far as they exist): a served tree must not hold the
// cache, or peers could read and write records.
func insideRoot(dir, root string) bool {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		if r, err := filepath.EvalSymlinks(a); err == nil {
			return r
		}
		return a
	}
	d, r := abs(dir), abs(root)
	return d == r || strings.HasPrefix(d, r+string(filepath.Separator))
}
