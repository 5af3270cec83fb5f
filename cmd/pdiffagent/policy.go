package main

import (
	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/spf13/pflag"
)

// policyOptions are what a serving side allows its clients, the same for
// listen and for serve --stdio (a forced command in authorized_keys).
type policyOptions struct {
	Root           string
	ReadOnly       bool
	AllowDevices   bool
	AllowHardlinks bool
	AllowOwner     bool
	MinFree        reserveValue
	MaxFileSize    sizeValue
	MaxWorkers     int
}

// AddFlags registers --root (with its default and help), --read-only,
// --allow-devices, --allow-hardlinks, --allow-owner, --min-free,
// --max-file-size and --max-workers.
func (o *policyOptions) AddFlags(f *pflag.FlagSet, root, rootHelp string) {
	f.StringVar(&o.Root, "root", root, rootHelp)
	f.BoolVar(&o.ReadOnly, "read-only", false, "refuse every push")
	f.BoolVar(&o.AllowDevices, "allow-devices", false, "serve block devices beneath the root, and make the device nodes of a pushed tree (as root; a client that may push can then make a node for any device of this machine: allow only trusted clients)")
	f.BoolVar(&o.AllowHardlinks, "allow-hardlinks", false, "serve and write in place files with more than one hard link")
	f.BoolVar(&o.AllowOwner, "allow-owner", false, "apply the owner and group a pushing client sends (--owner; the server must run as root)")
	o.MinFree = reserveValue{percent: agent.DefaultMinFreePercent}
	f.Var(&o.MinFree, "min-free", "room a push must leave on the root's filesystem: a size (10G) or a percentage (1%); 0 for none")
	f.Var(&o.MaxFileSize, "max-file-size", "refuse pushes of sources larger than this (0: no limit)")
	f.IntVar(&o.MaxWorkers, "max-workers", agent.DefaultMaxWorkers, "workers (streams) per session")
}

// apply sets the policy in c.
func (o *policyOptions) apply(c *agent.ServerConfig) {
	c.Root, c.ReadOnly, c.AllowDevices, c.AllowHardlinks, c.AllowOwner = o.Root, o.ReadOnly, o.AllowDevices, o.AllowHardlinks, o.AllowOwner
	c.MinFree, c.MinFreePercent, c.MaxFileSize, c.MaxWorkers = o.MinFree.bytes, o.MinFree.percent, int64(o.MaxFileSize), o.MaxWorkers
}
