package local

import (
	"io"
	"log"
)

// quietLog drops net/http's own log lines (TLS handshake noise from probes that test certificate errors).
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
