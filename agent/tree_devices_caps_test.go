package agent

import (
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/wire"
)

// TestMknodNeedsCap: a tree push never sends TreeMknod to a server whose
// Hello lacks wire.CapTreeDevices (an older agent's decoder would take the
// op for a malformed request and end the whole session); the device fails
// alone, with a reason. The target here has no control stream: a request
// sent would panic.
func TestMknodNeedsCap(t *testing.T) {
	r := &remoteTarget{c: &clientConn{hostport: "old.example:9443"}}
	err := r.Mknod("dev/null0", tree.Entry{Kind: tree.KindDevice, Rdev: 0x103})
	if err == nil || !strings.Contains(err.Error(), "does not make device nodes") {
		t.Fatalf("Mknod to a server without %v: %v", wire.CapTreeDevices, err)
	}
	if wire.AgentCaps&wire.CapTreeDevices == 0 {
		t.Fatal("this agent does not announce CapTreeDevices")
	}
}
