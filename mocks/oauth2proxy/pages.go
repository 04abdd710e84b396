package oauth2proxy

import (
	"bytes"
	"html/template"
	"net/http"
	"time"
)

// The pages keep the structure and wording of oauth2-proxy's pkg/app/pagewriter/sign_in.html and error.html
// (stylesheets, logo and scripts left out); what clients parse (the form, its action, the rd input, the button
// text, the status and title) is as the real templates render it.

var signInTemplate = template.Must(template.New("sign_in.html").Parse(`<!DOCTYPE html>
<html lang="en" charset="utf-8">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no">
    <title>Sign In</title>
  </head>
  <body class="has-background-light">
  <section class="section has-background-light">
    <div class="box block sign-in-box has-text-centered">
      <form method="GET" action="{{.ProxyPrefix}}/start">
        <input type="hidden" name="rd" value="{{.Redirect}}">
          <button type="submit" class="button block is-primary">Sign in with {{.ProviderName}}</button>
      </form>
    </div>
  </section>
  <footer class="footer has-text-grey has-background-light is-size-7">
    <div class="content has-text-centered">
    	<p>Secured with <a href="https://github.com/oauth2-proxy/oauth2-proxy#oauth2_proxy" class="has-text-grey">OAuth2 Proxy</a> version v7.8.1</p>
    </div>
  </footer>
  </body>
</html>
`))

var errorTemplate = template.Must(template.New("error.html").Parse(`<!DOCTYPE html>
<html lang="en" charset="utf-8">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no">
  <title>{{.StatusCode}} {{.Title}}</title>
</head>
<body class="has-background-light">
<section class="section">
  <div class="box block error-box has-text-centered">
    <div class="status-code">{{.StatusCode}}</div>
    <div class="block">
      <h1 class="subtitle is-1">{{.Title}}</h1>
    </div>
    {{ if .Message }}
    <div id="more-info" class="block card is-fullwidth is-shadowless">
      <header class="card-header is-shadowless">
        <p class="card-header-title">More Info</p>
      </header>
      <div class="card-content has-text-left is-hidden">
        <div class="content">
          {{.Message}}
        </div>
      </div>
    </div>
    {{ end }}
    {{ if .Redirect }}
    <hr>
    <div class="columns">
      <div class="column">
        <form method="GET" action="{{.Redirect}}">
          <button type="submit" class="button is-danger is-fullwidth">Go back</button>
        </form>
      </div>
      <div class="column">
        <form method="GET" action="{{.ProxyPrefix}}/sign_in">
          <input type="hidden" name="rd" value="{{.Redirect}}">
          <button type="submit" class="button is-primary is-fullwidth">Sign in</button>
        </form>
      </div>
    </div>
    {{ end }}
  </div>
</section>
</body>
</html>
`))

// defaultErrorMessages are pagewriter's messages shown when a page has no specific one (debug off).
var defaultErrorMessages = map[int]string{
	http.StatusInternalServerError: "Oops! Something went wrong. For more information contact your server administrator.",
	http.StatusNotFound:            "We could not find the resource you were looking for.",
	http.StatusForbidden:           "You do not have permission to access this resource.",
	http.StatusUnauthorized:        "You need to be logged in to access this resource.",
}

// noCacheHeaders are oauthproxy.go's prepareNoCache headers, set on every page under the proxy prefix.
var noCacheHeaders = map[string]string{
	"Expires":         time.Unix(0, 0).UTC().Format(time.RFC1123),
	"Cache-Control":   "no-cache, no-store, must-revalidate, max-age=0",
	"X-Accel-Expires": "0",
}

func prepareNoCache(w http.ResponseWriter) {
	for k, v := range noCacheHeaders {
		w.Header().Set(k, v)
	}
}

// writeHTML renders a page with an explicit Content-Type (oauth2-proxy leaves it to sniffing, which gives the
// same value).
func (p *Proxy) writeHTML(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		p.log.Error("rendering page", "template", t.Name(), "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// signInPage mirrors OAuthProxy.SignInPage: no-cache headers, the session cookies cleared, the sign-in form
// with rd set to where the user was going.
func (p *Proxy) signInPage(w http.ResponseWriter, r *http.Request, status int) {
	prepareNoCache(w)
	p.clearSession(w, r)
	redirect := p.appRedirect(r)
	if redirect == p.cfg.ProxyPrefix+"/sign_in" {
		redirect = "/"
	}
	p.writeHTML(w, status, signInTemplate, struct{ ProxyPrefix, Redirect, ProviderName string }{
		ProxyPrefix: p.cfg.ProxyPrefix, Redirect: redirect, ProviderName: p.cfg.ProviderDisplayName,
	})
}

// errorPage mirrors OAuthProxy.ErrorPage with debug off: message is shown when given, else the status's
// default message. Callers log the underlying error themselves; it never reaches the page.
func (p *Proxy) errorPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	if message == "" {
		message = defaultErrorMessages[status]
		if message == "" {
			message = "Unknown error"
		}
	}
	p.writeHTML(w, status, errorTemplate, struct {
		StatusCode                            int
		Title, Message, ProxyPrefix, Redirect string
	}{
		StatusCode: status, Title: http.StatusText(status), Message: message,
		ProxyPrefix: p.cfg.ProxyPrefix, Redirect: p.appRedirect(r),
	})
}

// errorJSON mirrors OAuthProxy.errorJSON: the status with an application/json body "{}".
func errorJSON(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("{}"))
}
