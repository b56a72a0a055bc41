package reliability_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// minicloudBin is the minicloud binary TestMain builds for the tests.
var minicloudBin string

// TestMain builds cmd/minicloud, as the tests run it as a process of its
// own, then runs the tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "minicloud-reliability")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	minicloudBin = filepath.Join(dir, "minicloud")
	args := []string{"build", "-o", minicloudBin}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command(goTool(), append(args, "github.com/minicloud/minicloud/cmd/minicloud")...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build minicloud: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goTool returns the go command that runs the tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
