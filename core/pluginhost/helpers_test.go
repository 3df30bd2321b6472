//go:build linux

package pluginhost

import (
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var sigStop = syscall.SIGSTOP

var fallbackRange = hcl.Range{Filename: "node.hcl", Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 2}}

func itoaU(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func copyBin(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitStep paces polling of an external effect (a file the plugin writes);
// it is a wait on another process, not a stand-in for a fake clock.
func waitStep(t *testing.T) {
	t.Helper()
	<-time.After(10 * time.Millisecond)
}

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		waitStep(t)
	}
}
