package dex

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func twoConnectors(c *Config) {
	c.Connectors = []ConnectorConfig{{ID: "local", Name: "Email", Type: "local"}, {ID: "ldap", Name: "LDAP", Type: "ldap"}}
}

func TestAuthorizationOneConnectorRedirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	q := authQuery(nil)
	r := e.get("/dex/auth?" + q.Encode())
	if r.status != http.StatusFound || r.location() != "/dex/auth/local?"+q.Encode() {
		t.Fatalf("status %d, Location %q", r.status, r.location())
	}
	// Dex v2.41.1 does not return after this redirect: the selection page follows the redirect body.
	mustContain(t, r.body, `Found</a>`, `Log in with Email`)
}

func TestAuthorizationConnectorID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, twoConnectors)
	q := authQuery(nil)
	withID := authQuery(url.Values{"connector_id": {"ldap"}})
	r := e.get("/dex/auth?" + withID.Encode())
	if r.status != http.StatusFound || r.location() != "/dex/auth/ldap?"+q.Encode() {
		t.Errorf("valid connector_id: %d %q", r.status, r.location())
	}
	r = e.get("/dex/auth?" + authQuery(url.Values{"connector_id": {"github"}}).Encode())
	if r.status != http.StatusBadRequest {
		t.Errorf("invalid connector_id: status %d", r.status)
	}
	mustContain(t, r.body, "<title>dex</title>", `<h2 class="theme-heading">Bad Request</h2>`, "<p>Connector ID does not match a valid Connector</p>")
}

func TestAuthorizationSelectionPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"two connectors, sorted by name", func(c *Config) {
			c.Connectors = []ConnectorConfig{{ID: "ldap", Name: "LDAP", Type: "ldap"}, {ID: "local", Name: "Email", Type: "local"}}
		}, []string{"local", "ldap"}},
		{"always show login", func(c *Config) { c.AlwaysShowLogin = true }, []string{"local"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.mutate)
			q := authQuery(nil)
			r := e.get("/dex/auth?" + q.Encode())
			if r.status != http.StatusOK || r.location() != "" {
				t.Fatalf("status %d, Location %q", r.status, r.location())
			}
			mustContain(t, r.body, `<h2 class="theme-heading">Log in to dex </h2>`, `class="theme-body"`)
			last := -1
			for _, id := range tt.want {
				href := `<a href="/dex/auth/` + id + `?` + strings.NewReplacer("&", "&amp;", "+", "&#43;").Replace(q.Encode()) + `" target="_self">`
				i := strings.Index(r.body, href)
				if i < 0 {
					t.Fatalf("no link %s in\n%s", href, r.body)
				}
				if i < last {
					t.Errorf("link for %s out of order", id)
				}
				last = i
			}
			if strings.Count(r.body, "Log in with ") != len(tt.want) {
				t.Errorf("want %d connector buttons", len(tt.want))
			}
		})
	}
}

func TestConnectorLoginValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.StaticClients = append(c.StaticClients,
			Client{ID: "public-any", Name: "P", Public: true},
			Client{ID: "confidential-none", Name: "C", Secret: "s"})
	})
	type want struct {
		status   int
		location string // prefix; "" means none
		body     string
	}
	tests := []struct {
		name  string
		query url.Values
		want  want
	}{
		{"unknown client", authQuery(url.Values{"client_id": {"nope"}}), want{404, "", `Invalid client_id (&#34;nope&#34;).`}},
		{"unregistered redirect", authQuery(url.Values{"redirect_uri": {"https://evil.example/cb"}}), want{400, "", `Unregistered redirect_uri (&#34;https://evil.example/cb&#34;).`}},
		{"confidential client gets no OOB", authQuery(url.Values{"client_id": {"confidential-none"}, "redirect_uri": {redirectURIOOB}}), want{400, "", "Unregistered redirect_uri"}},
		{"public client with URIs gets no localhost", authQuery(url.Values{"client_id": {oobClient}, "redirect_uri": {"http://localhost:8000/cb"}}), want{400, "", "Unregistered redirect_uri"}},
		{"public client without URIs: loopback IP refused in v2.41.1", authQuery(url.Values{"client_id": {"public-any"}, "redirect_uri": {"http://127.0.0.1:8000/cb"}}), want{400, "", "Unregistered redirect_uri"}},
		{"public client without URIs: https localhost refused", authQuery(url.Values{"client_id": {"public-any"}, "redirect_uri": {"https://localhost/cb"}}), want{400, "", "Unregistered redirect_uri"}},
		{"public client without URIs: OOB", authQuery(url.Values{"client_id": {"public-any"}, "redirect_uri": {redirectURIOOB}}), want{302, "/dex/auth/local/login?back=&state=", ""}},
		{"public client without URIs: localhost port", authQuery(url.Values{"client_id": {"public-any"}, "redirect_uri": {"http://localhost:8000/cb"}}), want{302, "/dex/auth/local/login?back=&state=", ""}},
		{"public client without URIs: localhost", authQuery(url.Values{"client_id": {"public-any"}, "redirect_uri": {"http://localhost/cb"}}), want{302, "/dex/auth/local/login?", ""}},
		{"public client without URIs: device callback", authQuery(url.Values{"client_id": {"public-any"}, "redirect_uri": {"/device/callback"}}), want{302, "/dex/auth/local/login?", ""}},
		{"bad PKCE method", authQuery(url.Values{"code_challenge_method": {"S512"}}), want{303, "/oauth2/callback?error=invalid_request&error_description=Unsupported+PKCE+challenge+method+%28%22S512%22%29.&state=st4te", ""}},
		{"challenge without method defaults to plain", authQuery(url.Values{"code_challenge_method": nil}), want{302, "/dex/auth/local/login?back=&state=", ""}},
		{"no openid scope", authQuery(url.Values{"scope": {"email"}}), want{303, "/oauth2/callback?error=invalid_scope&error_description=Missing+required+scope%28s%29+%5B%22openid%22%5D.&state=st4te", ""}},
		{"unknown scope", authQuery(url.Values{"scope": {"openid magic"}}), want{303, "/oauth2/callback?error=invalid_scope&error_description=Unrecognized+scope%28s%29+%5B%22magic%22%5D&state=st4te", ""}},
		{"untrusted cross-client scope", authQuery(url.Values{"scope": {"openid audience:server:client_id:" + oobClient}}), want{303, "/oauth2/callback?error=invalid_scope&error_description=Client+can%27t+request+scope", ""}},
		{"no response type", authQuery(url.Values{"response_type": nil}), want{303, "/oauth2/callback?error=invalid_request&error_description=No+response_type+provided&state=st4te", ""}},
		{"invalid response type", authQuery(url.Values{"response_type": {"magic"}}), want{303, "/oauth2/callback?error=invalid_request&error_description=Invalid+response+type+%22magic%22", ""}},
		{"token not enabled", authQuery(url.Values{"response_type": {"token"}}), want{303, "/oauth2/callback?error=unsupported_response_type&error_description=Unsupported+response+type+%22token%22", ""}},
		{"invalid connector_id param", authQuery(url.Values{"connector_id": {"ldap"}}), want{303, "/oauth2/callback?error=invalid_request&error_description=Invalid+ConnectorID", ""}},
		{"request object", authQuery(url.Values{"request": {"eyJ"}}), want{303, "/oauth2/callback?error=request_not_supported", ""}},
		{"valid", authQuery(nil), want{302, "/dex/auth/local/login?back=&state=", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get("/dex/auth/local?" + tt.query.Encode())
			if r.status != tt.want.status {
				t.Fatalf("status %d, want %d; body %q", r.status, tt.want.status, r.body)
			}
			if tt.want.location == "" && r.location() != "" || !strings.HasPrefix(r.location(), tt.want.location) {
				t.Errorf("Location %q, want prefix %q", r.location(), tt.want.location)
			}
			if !strings.Contains(r.body, tt.want.body) {
				t.Errorf("body lacks %q:\n%s", tt.want.body, r.body)
			}
		})
	}
}

func TestConnectorLoginUnknownConnectorAndMethod(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { twoConnectors(c) }) // ldap listed but not implemented
	r := e.get("/dex/auth/github?" + authQuery(nil).Encode())
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Requested resource does not exist") {
		t.Errorf("unknown connector: %d %q", r.status, r.body)
	}
	r = e.get("/dex/auth/ldap?" + authQuery(nil).Encode())
	if r.status != http.StatusBadRequest {
		t.Errorf("unimplemented connector: %d", r.status)
	}
	r = e.get("/dex/auth/local?" + authQuery(url.Values{"connector_id": {"ldap"}}).Encode())
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Bad connector ID") {
		t.Errorf("mismatched connector_id: %d %q", r.status, r.body)
	}
	r = e.postForm("/dex/auth/local?"+authQuery(nil).Encode(), nil)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Unsupported request method.") {
		t.Errorf("POST: %d %q", r.status, r.body)
	}
}

func TestConnectorLoginBackLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, twoConnectors)
	q := authQuery(nil)
	loc := e.startLogin(q)
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/dex/auth/local/login" || u.Query().Get("back") != "/dex/auth?"+q.Encode() || len(u.Query().Get("state")) != 25 {
		t.Errorf("Location %q", loc)
	}
	if !strings.HasPrefix(u.RawQuery, "back=") {
		t.Errorf("query not in Encode order: %q", u.RawQuery)
	}
}

func TestImplicitTokenWithOOBRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.ResponseTypes = []string{"code", "token", "id_token"} })
	q := url.Values{"client_id": {oobClient}, "redirect_uri": {redirectURIOOB}, "response_type": {"code token"}, "scope": {"openid"}, "state": {"s"}}
	r := e.get("/dex/auth/local?" + q.Encode())
	want := "urn:ietf:wg:oauth:2.0:oob?error=invalid_request&error_description=Cannot+use+response+type+%27token%27+with+redirect_uri+%27urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob%27.&state=s"
	if r.status != http.StatusSeeOther || r.location() != want {
		t.Errorf("%d %q", r.status, r.location())
	}
	q.Set("response_type", "id_token")
	q.Set("redirect_uri", redirectURIOOB)
	if r := e.get("/dex/auth/local?" + q.Encode()); !strings.Contains(r.location(), "requires+a+%27nonce%27") {
		t.Errorf("id_token without nonce: %q", r.location())
	}
}
