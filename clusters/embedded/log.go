package embedded

import (
	"io"
	"log"
)

// QuietLog drops net/http's server and proxy log lines (TLS handshake noise from probes that test certificate errors).
func QuietLog() *log.Logger { return log.New(io.Discard, "", 0) }
