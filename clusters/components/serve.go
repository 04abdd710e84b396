package components

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"time"
)

// QuietLog drops net/http's server and proxy log lines (TLS handshake noise from probes that test certificate errors).
func QuietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// Serve serves h on lis (TLS when tlsConf is given; its errors are not logged: they surface as unreachable in
// the checks) and returns the function that stops it, gracefully within 5 seconds, then hard. Both tiers' stacks
// serve their listeners with it.
func Serve(lis net.Listener, h http.Handler, tlsConf *tls.Config) func() error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsConf, ErrorLog: QuietLog()}
	go func() {
		if tlsConf != nil {
			_ = srv.ServeTLS(lis, "", "")
		} else {
			_ = srv.Serve(lis)
		}
	}()
	return func() error { return Stop(srv) }
}

// StopGrace is how long Stop lets requests in flight finish. An HTTP/2 client's idle connection (client-go's, a
// TLS gateway's) counts as active until the server's GOAWAY has had its second to drain, so a full graceful
// shutdown cost a second or more per server: 4 to 9 s of the 5.5 to 10.7 s `make run` took, after its summary.
const StopGrace = 250 * time.Millisecond

// Stop shuts srv down, giving requests in flight StopGrace to finish, then closes what is left (the stand-ins'
// clients are done by the time a stack closes).
func Stop(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), StopGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return srv.Close()
	}
	return nil
}
