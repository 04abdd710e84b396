// Command s3 is the S3-compatible object store the real KFP API server needs on the local tier: gofakes3 with
// its in-memory backend, on a loopback address. KFP only creates its bucket and stores pipeline specs there;
// nothing persists beyond the process.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("s3: listen: %v", err)
	}
	faker := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true))
	log.Printf("s3: gofakes3 (in-memory) on %s", lis.Addr())
	srv := &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(lis))
}
