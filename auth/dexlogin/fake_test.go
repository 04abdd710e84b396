package dexlogin

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeStack is a gateway (oauth2-proxy in front of an app) and Dex on one origin, /dex on the same host as in
// Kubeflow. It speaks the wire of WIRE-FACTS sections 1.2, 3 and 6, with switches for each profile's quirks.
type fakeStack struct {
	signInPage       bool     // 403 sign-in page (kubeflow) instead of a direct 302 to Dex (deployKF, authservice)
	connectors       []string // Dex connector IDs; more than one shows the selection page
	approval         bool     // Dex shows /approval after the login
	invalidStatus    int      // Dex's status for bad credentials: 401 (v2.41) or 200 (older)
	cookieName       string   // session cookie name
	splitCookie      bool     // session value over 4000 bytes, split into _0 and _1
	failCallbacks    int      // callbacks answering 403 (stale CSRF) before one succeeds
	users            map[string]string
	connectorsListed bool // the selection page lists links (true) or is bare (false)
	// connectorError makes the login POST answer as Dex does when its connector fails: 500 and error.html
	// with "Login error: <connectorError>".
	connectorError string

	mu       sync.Mutex
	authReqs map[string]authReq
	codes    map[string]authReq
	sessions map[string]bool
	srv      *httptest.Server
}

type authReq struct{ redirectURI, state string }

func newFakeStack() *fakeStack {
	return &fakeStack{
		signInPage: true, connectors: []string{"local"}, invalidStatus: http.StatusUnauthorized,
		cookieName: "oauth2_proxy_kubeflow", users: map[string]string{"user@example.com": "12341234"},
		connectorsListed: true,
		authReqs:         map[string]authReq{}, codes: map[string]authReq{}, sessions: map[string]bool{},
	}
}

func (fs *fakeStack) start(t *testing.T, useTLS bool) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dex/auth", fs.dexAuth)
	mux.HandleFunc("GET /dex/auth/{connector}", fs.dexConnector)
	mux.HandleFunc("/dex/auth/{connector}/login", fs.dexLogin)
	mux.HandleFunc("/dex/approval", fs.dexApproval)
	mux.HandleFunc("GET /oauth2/start", func(w http.ResponseWriter, r *http.Request) { fs.oauthStart(w, r, r.URL.Query().Get("rd")) })
	mux.HandleFunc("GET /oauth2/callback", fs.oauthCallback)
	mux.HandleFunc("/", fs.protected)
	if useTLS {
		fs.srv = httptest.NewTLSServer(mux)
	} else {
		fs.srv = httptest.NewServer(mux)
	}
	t.Cleanup(fs.srv.Close)
}

func (fs *fakeStack) secure() bool { return fs.srv.TLS != nil }

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// protected is the app behind oauth2-proxy: 200 with a valid session, else the unauthenticated answer.
func (fs *fakeStack) protected(w http.ResponseWriter, r *http.Request) {
	if fs.validSession(r) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Kubeflow Pipelines</body></html>")
		return
	}
	switch {
	case strings.Contains(r.URL.Path, "/apis/"):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "{}")
	case fs.signInPage:
		http.SetCookie(w, &http.Cookie{Name: fs.cookieName, Value: "", Path: "/", MaxAge: -1})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<html><body><form method="GET" action="/oauth2/start"><input type="hidden" name="rd" value="%s">`+
			`<button type="submit" class="button block is-primary">Sign in with Dex</button></form></body></html>`, template.HTMLEscapeString(r.URL.RequestURI()))
	default:
		fs.oauthStart(w, r, r.URL.RequestURI())
	}
}

// oauthStart sets the CSRF cookie and sends the browser to Dex, as oauth2-proxy's doOAuthStart.
func (fs *fakeStack) oauthStart(w http.ResponseWriter, r *http.Request, rd string) {
	nonce := randomID()
	http.SetCookie(w, &http.Cookie{Name: fs.cookieName + "_csrf", Value: nonce, Path: "/", HttpOnly: true, Secure: fs.secure()})
	q := url.Values{"client_id": {"kubeflow-oidc-authservice"}, "redirect_uri": {"/oauth2/callback"}, "response_type": {"code"},
		"scope": {"profile email groups openid"}, "state": {nonce + ":" + rd}, "prompt": {"none"}}
	http.Redirect(w, r, "/dex/auth?"+q.Encode(), http.StatusFound)
}

func (fs *fakeStack) oauthCallback(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	req, ok := fs.codes[r.URL.Query().Get("code")]
	delete(fs.codes, r.URL.Query().Get("code"))
	failing := fs.failCallbacks > 0
	if failing {
		fs.failCallbacks--
	}
	fs.mu.Unlock()
	nonce, rd, _ := strings.Cut(r.URL.Query().Get("state"), ":")
	csrf, err := r.Cookie(fs.cookieName + "_csrf")
	if !ok || req.state != r.URL.Query().Get("state") || err != nil || csrf.Value != nonce || failing {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "<html><body>Login Failed: Unable to find a valid CSRF token. Please try again.</body></html>")
		return
	}
	value := randomID()
	if fs.splitCookie {
		value = strings.Repeat(value, 5000/len(value)+1)
	}
	fs.mu.Lock()
	fs.sessions[value] = true
	fs.mu.Unlock()
	name := fs.cookieName
	if fs.secure() {
		name = "__Secure-" + name
	}
	if fs.splitCookie {
		http.SetCookie(w, &http.Cookie{Name: name + "_0", Value: value[:4000], Path: "/", HttpOnly: true, Secure: fs.secure()})
		http.SetCookie(w, &http.Cookie{Name: name + "_1", Value: value[4000:], Path: "/", HttpOnly: true, Secure: fs.secure()})
	} else {
		http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: fs.secure()})
	}
	http.SetCookie(w, &http.Cookie{Name: fs.cookieName + "_csrf", Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, rd, http.StatusFound)
}

// validSession reassembles the session cookie, split or not.
func (fs *fakeStack) validSession(r *http.Request) bool {
	name := fs.cookieName
	if fs.secure() {
		name = "__Secure-" + name
	}
	value := ""
	if c, err := r.Cookie(name); err == nil {
		value = c.Value
	} else {
		for i := 0; ; i++ {
			c, err := r.Cookie(fmt.Sprintf("%s_%d", name, i))
			if err != nil {
				break
			}
			value += c.Value
		}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.sessions[value]
}

func (fs *fakeStack) dexAuth(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("client_id") != "kubeflow-oidc-authservice" {
		http.Error(w, "Invalid client_id.", http.StatusNotFound)
		return
	}
	if len(fs.connectors) == 1 {
		http.Redirect(w, r, "/dex/auth/"+fs.connectors[0]+"?"+r.URL.RawQuery, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<html><body><h2 class="theme-heading">Log in to dex</h2><div>`)
	if fs.connectorsListed {
		for _, c := range fs.connectors {
			fmt.Fprintf(w, `<div class="theme-form-row"><a href="%s" target="_self"><button class="dex-btn theme-btn-provider">`+
				`<span class="dex-btn-text">Log in with %s</span></button></a></div>`,
				template.HTMLEscapeString("/dex/auth/"+c+"?"+r.URL.RawQuery), c)
		}
	}
	fmt.Fprint(w, `</div></body></html>`)
}

func (fs *fakeStack) knownConnector(c string) bool {
	for _, k := range fs.connectors {
		if k == c {
			return true
		}
	}
	return false
}

func (fs *fakeStack) dexConnector(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("connector")
	if !fs.knownConnector(c) {
		http.Error(w, "Requested resource does not exist.", http.StatusNotFound)
		return
	}
	id := randomID()
	fs.mu.Lock()
	fs.authReqs[id] = authReq{redirectURI: r.URL.Query().Get("redirect_uri"), state: r.URL.Query().Get("state")}
	fs.mu.Unlock()
	back := ""
	if len(fs.connectors) > 1 {
		back = "/dex/auth?" + r.URL.RawQuery
	}
	http.Redirect(w, r, "/dex/auth/"+c+"/login?"+url.Values{"back": {back}, "state": {id}}.Encode(), http.StatusFound)
}

func (fs *fakeStack) dexLogin(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("state")
	fs.mu.Lock()
	req, ok := fs.authReqs[id]
	fs.mu.Unlock()
	if !ok || !fs.knownConnector(r.PathValue("connector")) {
		http.Error(w, "User session error.", http.StatusBadRequest)
		return
	}
	invalid := false
	if r.Method == http.MethodPost && fs.connectorError != "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `<html><body><div class="theme-panel"><h2 class="theme-heading">Internal Server Error</h2><p>%s</p></div></body></html>`,
			template.HTMLEscapeString("Login error: "+fs.connectorError))
		return
	}
	if r.Method == http.MethodPost {
		if pw, ok := fs.users[r.PostFormValue("login")]; ok && pw == r.PostFormValue("password") {
			if fs.approval {
				http.Redirect(w, r, "/dex/approval?"+url.Values{"req": {id}, "hmac": {"h-" + id}}.Encode(), http.StatusSeeOther)
				return
			}
			fs.sendCode(w, r, id, req)
			return
		}
		invalid = true
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if invalid {
		w.WriteHeader(fs.invalidStatus)
	}
	fmt.Fprintf(w, `<html><body><form method="post" action="%s">`+
		`<input tabindex="1" required id="login" name="login" type="text" class="theme-form-input">`+
		`<input tabindex="2" required id="password" name="password" type="password" class="theme-form-input">`,
		template.HTMLEscapeString(r.URL.RequestURI()))
	if invalid {
		fmt.Fprint(w, `<div id="login-error" class="dex-error-box">Invalid Email Address and password.</div>`)
	}
	fmt.Fprint(w, `<button tabindex="3" id="submit-login" type="submit">Login</button></form></body></html>`)
}

func (fs *fakeStack) dexApproval(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("req")
	fs.mu.Lock()
	req, ok := fs.authReqs[id]
	fs.mu.Unlock()
	if r.URL.Query().Get("hmac") != "h-"+id {
		http.Error(w, "Unauthorized request", http.StatusUnauthorized)
		return
	}
	if !ok {
		http.Error(w, "User session error.", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodPost {
		if r.PostFormValue("approval") != "approve" || r.PostFormValue("req") != id {
			http.Error(w, "Approval rejected.", http.StatusInternalServerError)
			return
		}
		fs.sendCode(w, r, id, req)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	for _, v := range []string{"approve", "rejected"} {
		fmt.Fprintf(w, `<form method="post"><input type="hidden" name="req" value="%s"/><input type="hidden" name="approval" value="%s">`+
			`<button type="submit">%s</button></form>`, id, v, v)
	}
}

func (fs *fakeStack) sendCode(w http.ResponseWriter, r *http.Request, id string, req authReq) {
	code := randomID()
	fs.mu.Lock()
	delete(fs.authReqs, id)
	fs.codes[code] = req
	fs.mu.Unlock()
	http.Redirect(w, r, req.redirectURI+"?"+url.Values{"code": {code}, "state": {req.state}}.Encode(), http.StatusSeeOther)
}
