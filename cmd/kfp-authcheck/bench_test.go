package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkFullMatrix is the figure behind `make bench`: the wall time of `kfp-authcheck run` over every profile
// on the embedded tier, process start included, with a binary built once before timing.
func BenchmarkFullMatrix(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "kfp-authcheck")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("build: %v", err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		out, err := exec.CommandContext(ctx, bin, "run", "--progress", "never").CombinedOutput()
		if err != nil {
			b.Fatalf("run: %v\n%s", err, out)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/matrix")
}
