package kfpapi

import (
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// uiPage stands in for the UI's index.html.
const uiPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Kubeflow Pipelines</title></head>
<body><div id="root">Kubeflow Pipelines (kfp-authcheck stand-in)</div></body>
</html>
`

// UIHandler is ml-pipeline-ui as the gateway reaches it: mount it under /pipeline with the prefix stripped.
// GET healthz answers in the UI's own shape; other /apis/ requests are proxied to the API handler with every
// header (http-proxy-middleware forwards them all); other GETs get the single-page app; anything else gets
// Express's 404 page.
func (s *Server) UIHandler() http.Handler {
	api := s.APIHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case r.Method == http.MethodGet && (p == "/apis/v1beta1/healthz" || p == "/apis/v2beta1/healthz"):
			s.serveUIHealthz(w, r)
		case strings.HasPrefix(p, "/apis/"):
			if mutate.On(mutate.KFPUIDropsAuthorization) {
				r = r.Clone(r.Context())
				r.Header.Del("Authorization")
			}
			api.ServeHTTP(w, r)
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprint(w, uiPage)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusNotFound)
			_, _ = fmt.Fprintf(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot %s %s</pre>\n</body>\n</html>\n",
				r.Method, html.EscapeString(p))
		}
	})
}
