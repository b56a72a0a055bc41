package reliability_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// binDir is the folder the minicloud binary is built in, removed once
// the tests are done.
var binDir string

// TestMain makes the folder the tests build minicloud in, runs the
// tests, and removes it.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "minicloud-reliability")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// built is the minicloud binary, built once, when the first test needs it.
var built struct {
	once sync.Once
	path string
	err  error
}

// minicloudBin builds cmd/minicloud, with the race detector when the tests
// run with it, and returns the binary's path.
func minicloudBin(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		path := filepath.Join(binDir, "minicloud")
		args := []string{"build", "-o", path}
		if raceBuild {
			args = append(args, "-race")
		}
		cmd := exec.Command(goTool(), append(args, "github.com/minicloud/minicloud/cmd/minicloud")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("build minicloud: %w\n%s", err, out)
			return
		}
		built.path = path
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// goTool returns the go command that runs the tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
