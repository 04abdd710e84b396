package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ToolsEnv names the directory holding the real programs, when they are not in bin/tools of the checkout.
const ToolsEnv = "KFP_AUTHCHECK_TOOLS"

// ErrToolsMissing is returned when a program the tier needs has not been built; `make tools` builds it.
var ErrToolsMissing = errors.New("the local tier's programs are not built (run `make tools`)")

// ToolsDir finds the directory with the programs `make tools` builds: $KFP_AUTHCHECK_TOOLS, else tools/ next to
// the running executable (bin/kfp-authcheck beside bin/tools), else bin/tools of the checkout that contains the
// working directory (go test runs in a package folder).
func ToolsDir() (string, error) {
	if d := os.Getenv(ToolsEnv); d != "" {
		return d, nil
	}
	var tried []string
	if exe, err := os.Executable(); err == nil {
		d := filepath.Join(filepath.Dir(exe), "tools")
		if isDir(d) {
			return d, nil
		}
		tried = append(tried, d)
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
				strings.HasPrefix(string(b), "module github.com/kfp-authcheck/kfp-authcheck\n") {
				d := filepath.Join(dir, "bin", "tools")
				if isDir(d) {
					return d, nil
				}
				tried = append(tried, d)
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", fmt.Errorf("%w: no tools directory (looked at %s; or set %s)", ErrToolsMissing, strings.Join(tried, ", "), ToolsEnv)
}

// tool returns the path of one built program.
func tool(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	st, err := os.Stat(p)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%w: %s is missing", ErrToolsMissing, p)
	}
	return p, nil
}

// ToolVersion is the pin a program was built at, from the stamp `make tools` writes beside it.
func ToolVersion(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name+".stamp"))
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "unknown"
	}
	if i := strings.LastIndex(f[0], "@"); i >= 0 {
		return f[0][i+1:]
	}
	return f[0]
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
