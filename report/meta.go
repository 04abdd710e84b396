package report

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// issueRepos maps the short repository names the catalogue's references use ("manifests#2844", "dex PR#3086") to
// their GitHub repositories. A name not listed stays plain text: a wrong link is worse than none.
var issueRepos = map[string]string{
	"kubeflow":       "kubeflow/kubeflow",
	"pipelines":      "kubeflow/pipelines",
	"manifests":      "kubeflow/manifests",
	"kfctl":          "kubeflow/kfctl",
	"dashboard":      "kubeflow/dashboard",
	"deploykf":       "deployKF/deployKF",
	"dex":            "dexidp/dex",
	"oauth2-proxy":   "oauth2-proxy/oauth2-proxy",
	"elyra":          "elyra-ai/elyra",
	"kedro-kubeflow": "getindata/kedro-kubeflow",
}

// issueRef is "<repo>#N" or "<repo> PR#N"; owner/repo#N names any GitHub repository.
var issueRef = regexp.MustCompile(`^([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)?)\s*(PR)?#([0-9]+)$`)

// RefURL is the address a reference names: itself when it is an http(s) URL, the GitHub issue or pull request for
// a well-known "repo#N" or "repo PR#N" (or any "owner/repo#N"); ok is false for a reference that names no address
// ("KFPClientManager").
func RefURL(ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if u, err := url.Parse(ref); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		return u.String(), true
	}
	m := issueRef.FindStringSubmatch(ref)
	if m == nil {
		return "", false
	}
	repo := m[1]
	if !strings.Contains(repo, "/") {
		full, ok := issueRepos[strings.ToLower(repo)]
		if !ok {
			return "", false
		}
		repo = full
	}
	kind := "issues"
	if m[2] != "" {
		kind = "pull"
	}
	return fmt.Sprintf("https://github.com/%s/%s/%s", repo, kind, m[3]), true
}

// VersionText is a version as the reports print it: "v2.41.1", "v2.41.1 (from the profile)", or "unknown".
func VersionText(v result.Version) string {
	s := v.Version
	if s == "" {
		s = "unknown"
	}
	if v.FromProfile {
		s += " (from the profile)"
	}
	return s
}

// VersionsText is a column's versions on one line: "dex v2.41.1, oauth2-proxy v7.6.0 (from the profile), ...".
func VersionsText(vs []result.Version) string {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, v.Component+" "+VersionText(v))
	}
	if len(parts) == 0 {
		return "not recorded"
	}
	return strings.Join(parts, ", ")
}

// reportDate is when the matrix was judged: the latest end of its runs, else now.
func reportDate(m *Matrix) string {
	var last time.Time
	for _, c := range m.Columns {
		if c.Finished.After(last) {
			last = c.Finished
		}
	}
	if last.IsZero() {
		last = time.Now()
	}
	return last.UTC().Format("2006-01-02 15:04 UTC")
}

// toolVersions lists the distinct tool versions of the matrix's runs, in column order.
func toolVersions(m *Matrix) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range m.Columns {
		v := c.ToolVersion
		if v == "" {
			v = "unknown"
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// ToolVersions is toolVersions for callers outside the package (report merge warns on more than one).
func ToolVersions(m *Matrix) []string { return toolVersions(m) }

// profileText is "deploykf: deployKF 0.1.5 with ..." or the profile alone.
func profileText(c Column) string {
	p := oneLine(c.Profile)
	if p == "" {
		p = "none"
	}
	if d := oneLine(c.ProfileDescription); d != "" {
		return p + ": " + d
	}
	return p
}
