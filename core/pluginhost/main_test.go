//go:build linux

package pluginhost

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// testBinDir holds the test plugin built once per test run, in a
// root-owned 0755 directory so it passes the path-safety check.
var (
	buildOnce sync.Once
	testBin   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// testPlugin returns the path of the test plugin binary, building it on
// first use. Tests that run it need root: the safety check wants root-owned
// paths, and several tests change owners or users.
func testPlugin(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: plugin binaries must be root-owned to pass the path-safety check")
	}
	if runtime.GOOS != "linux" {
		t.Skip("plugin process tests run on Linux only")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "pluginhost-bin-")
		if buildErr != nil {
			return
		}
		if buildErr = os.Chmod(binDir, 0o755); buildErr != nil {
			return
		}
		testBin = filepath.Join(binDir, "testplugin")
		cmd := exec.Command("go", "build", "-o", testBin, "./internal/testplugin")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build testplugin: %v\n%s", err, out.String())
			return
		}
		buildErr = os.Chmod(testBin, 0o755)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return testBin
}
