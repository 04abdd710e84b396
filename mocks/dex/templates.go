package dex

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
)

// webFiles are Dex v2.41.1's web/ assets (templates, main.css, the light theme's styles.css, robots.txt).
//
//go:embed web/templates/*.html web/static/main.css web/themes/light/styles.css web/robots.txt
var webFiles embed.FS

// Defaults of Dex's web config: frontend.issuer "dex", theme "light", logo "theme/logo.png".
const (
	webIssuer = "dex"
	webLogo   = "theme/logo.png"
)

type templates struct {
	login, password, approval, oob, errorPage *template.Template
}

func loadTemplates(issuerPath string) (*templates, error) {
	funcs := template.FuncMap{
		"issuer": func() string { return webIssuer },
		"logo":   func() string { return webLogo },
		"lower":  strings.ToLower, // the one sprig function Dex's default templates use
		"url": func(reqPath, assetPath string) string {
			return relativeURL(issuerPath, reqPath, assetPath)
		},
	}
	tmpls, err := template.New("").Funcs(funcs).ParseFS(webFiles, "web/templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	t := &templates{
		login:     tmpls.Lookup("login.html"),
		password:  tmpls.Lookup("password.html"),
		approval:  tmpls.Lookup("approval.html"),
		oob:       tmpls.Lookup("oob.html"),
		errorPage: tmpls.Lookup("error.html"),
	}
	if t.login == nil || t.password == nil || t.approval == nil || t.oob == nil || t.errorPage == nil {
		return nil, fmt.Errorf("parse templates: a required template is missing")
	}
	return t, nil
}

// relativeURL is templates.go relativeURL: asset links relative to the request path, so that the pages work
// behind any prefix.
func relativeURL(serverPath, reqPath, assetPath string) string {
	if u, err := url.ParseRequestURI(assetPath); err == nil && u.Scheme != "" {
		return assetPath
	}
	splitPath := func(p string) []string {
		var res []string
		for _, part := range strings.Split(path.Clean(p), "/") {
			if part != "" {
				res = append(res, part)
			}
		}
		return res
	}
	stripCommon := func(s1, s2 []string) ([]string, []string) {
		n := min(len(s1), len(s2))
		split := n
		for i := 0; i < n; i++ {
			if s1[i] != s2[i] {
				split = i
				break
			}
		}
		return s1[split:], s2[split:]
	}
	server, req, asset := splitPath(serverPath), splitPath(reqPath), splitPath(assetPath)
	_, req = stripCommon(server, req)
	asset, req = stripCommon(asset, req)
	var rel string
	for i := 0; i < len(req)-1; i++ {
		rel = path.Join("..", rel)
	}
	return path.Join(rel, path.Join(asset...))
}

// scopeDescriptions are what approval.html lists for each scope.
var scopeDescriptions = map[string]string{
	"offline_access": "Have offline access",
	"profile":        "View basic profile information",
	"email":          "View your email address",
	"groups":         "View your groups",
}

type connectorInfo struct {
	ID   string
	Name string
	URL  template.URL
	Type string
}

// renderTemplate writes a page; like Dex it answers 500 only if nothing was written yet.
func renderTemplate(w http.ResponseWriter, tmpl *template.Template, data any) {
	wr := &writeRecorder{w: w}
	if err := tmpl.Execute(wr, data); err != nil && !wr.wrote {
		http.Error(w, "Internal server error", http.StatusInternalServerError)
	}
}

type writeRecorder struct {
	wrote bool
	w     http.ResponseWriter
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.wrote = true
	return w.w.Write(p)
}

func (t *templates) renderLogin(w http.ResponseWriter, r *http.Request, connectors []connectorInfo) {
	sort.SliceStable(connectors, func(i, j int) bool { return connectors[i].Name < connectors[j].Name })
	renderTemplate(w, t.login, struct {
		Connectors []connectorInfo
		ReqPath    string
	}{connectors, r.URL.Path})
}

// renderPassword writes password.html; an invalid attempt answers 401, as Dex v2.41.1 does.
func (t *templates) renderPassword(w http.ResponseWriter, r *http.Request, postURL, lastUsername, prompt string, invalid bool, backLink string) {
	if invalid {
		w.WriteHeader(http.StatusUnauthorized)
	}
	renderTemplate(w, t.password, struct {
		PostURL        string
		BackLink       string
		Username       string
		UsernamePrompt string
		Invalid        bool
		ReqPath        string
	}{postURL, backLink, lastUsername, prompt, invalid, r.URL.Path})
}

func (t *templates) renderApproval(w http.ResponseWriter, r *http.Request, authReqID, username, clientName string, scopes []string) {
	accesses := []string{}
	for _, scope := range scopes {
		if access, ok := scopeDescriptions[scope]; ok {
			accesses = append(accesses, access)
		}
	}
	sort.Strings(accesses)
	renderTemplate(w, t.approval, struct {
		User      string
		Client    string
		AuthReqID string
		Scopes    []string
		ReqPath   string
	}{username, clientName, authReqID, accesses, r.URL.Path})
}

func (t *templates) renderOOB(w http.ResponseWriter, r *http.Request, code string) {
	renderTemplate(w, t.oob, struct {
		Code    string
		ReqPath string
	}{code, r.URL.Path})
}

// renderError is Dex's error page: status, its status text as heading, the message in a paragraph.
func (t *templates) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.WriteHeader(status)
	_ = t.errorPage.Execute(w, struct {
		ErrType string
		ErrMsg  string
		ReqPath string
	}{http.StatusText(status), msg, r.URL.Path})
}

// staticAssets serves /static, /theme and /robots.txt from the embedded files.
func staticAssets() (static, theme http.Handler, robots []byte, err error) {
	staticFS, err := fs.Sub(webFiles, "web/static")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("static files: %w", err)
	}
	themeFS, err := fs.Sub(webFiles, "web/themes/light")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("theme files: %w", err)
	}
	robots, err = webFiles.ReadFile("web/robots.txt")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("robots.txt: %w", err)
	}
	return http.FileServer(http.FS(staticFS)), http.FileServer(http.FS(themeFS)), robots, nil
}
