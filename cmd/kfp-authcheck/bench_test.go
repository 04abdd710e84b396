package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/timing"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
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

// BenchmarkLiveRunLocal is the live run against the local tier's real stack (`serve --tier local --kube --kfp
// real`: real Dex, oauth2-proxy, etcd, kube-apiserver, kube-controller-manager and the KFP API server), as
// `run --target` its description: the wall time of the run process, its own CPU time, and where the checks'
// time went (their round trips and waits, summed over checks that run four at a time). bound-s/run is the
// goal's bound: twice the CPU time plus the time the checks spent on the wire (busy: a check's concurrent
// round trips count once) shared by the four checks that run at a time. Skipped where the local tier's programs
// or MariaDB are missing. A run whose verdicts are unexpected (exit 1) is still timed: the verdicts are the
// stack's; its failures are logged. Between runs (untimed) it waits until the last run's namespaces are gone.
func BenchmarkLiveRunLocal(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "kfp-authcheck")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("build: %v", err)
	}
	ready := filepath.Join(dir, "ready.json")
	var serveErr bytes.Buffer
	serve := exec.CommandContext(ctx, bin, "serve", "--tier", "local", "--kube", "--kfp", "real", "--profile", "kubeflow",
		"--ready-file", ready)
	serve.Stderr = &serveErr
	if err := serve.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() {
		_ = serve.Process.Signal(os.Interrupt)
		<-exited
	}()
	err := timing.Until(ctx, 3*time.Minute, func(context.Context) (bool, error) {
		select {
		case err := <-exited:
			exited <- err
			return false, fmt.Errorf("serve exited: %w", err)
		default:
		}
		fi, err := os.Stat(ready)
		return err == nil && fi.Size() > 0, nil
	})
	if err != nil {
		if ee, ok := errors.AsType[*exec.ExitError](err); ok && ee.ExitCode() == exitUsage {
			b.Skipf("the local tier's real stack cannot start here: %s", serveErr.String())
		}
		b.Fatalf("%v\n%s", err, serveErr.String())
	}
	desc, err := target.LoadFile(ready)
	if err != nil {
		b.Fatal(err)
	}
	kube, err := target.KubeClient(desc.Kubeconfig, "", 30*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	var wall, cpu time.Duration
	var requests, requestMS, busyMS, waitMS int64
	runs := 0
	for b.Loop() {
		out := filepath.Join(dir, fmt.Sprintf("run%d", runs))
		run := exec.CommandContext(ctx, bin, "run", "--target", ready, "--progress", "never", "--format", "json",
			"--parallel", fmt.Sprint(liveRunParallel), "--out", out)
		start := time.Now()
		msg, err := run.CombinedOutput()
		wall += time.Since(start)
		if ee, ok := errors.AsType[*exec.ExitError](err); ok && ee.ExitCode() == exitUnexpected && runs == 0 {
			b.Logf("run --target: unexpected verdicts (timed all the same):\n%s", msg)
		} else if err != nil && (!ok || ee.ExitCode() != exitUnexpected) {
			b.Fatalf("run --target: %v\n%s", err, msg)
		}
		cpu += run.ProcessState.UserTime() + run.ProcessState.SystemTime()
		data, err := os.ReadFile(filepath.Join(out, "kfp-authcheck.json"))
		if err != nil {
			b.Fatal(err)
		}
		var r result.Run
		if err := json.Unmarshal(data, &r); err != nil {
			b.Fatal(err)
		}
		for _, res := range r.Results {
			if t := res.Timing; t != nil {
				requests += int64(t.Requests)
				requestMS += t.RequestMS
				busyMS += t.BusyMS
				waitMS += t.WaitMS
			}
		}
		runs++
		// A run returns once its namespaces are being deleted; kube-controller-manager then empties them for
		// seconds, on the same two cores as the next run. Each run is timed on a settled cluster, as an
		// operator's single run is: wait (untimed) until the last run's namespaces are gone.
		if r.Fixtures != nil {
			b.StopTimer()
			sel := metav1.ListOptions{LabelSelector: fixtures.RunLabel + "=" + r.Fixtures.RunID}
			err := timing.Until(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
				l, err := kube.CoreV1().Namespaces().List(ctx, sel)
				return err == nil && len(l.Items) == 0, err
			})
			if err != nil {
				b.Fatalf("the run's namespaces (%s) are not gone: %v", sel.LabelSelector, err)
			}
			b.StartTimer()
		}
	}
	n := float64(runs)
	b.ReportMetric(wall.Seconds()/n, "wall-s/run")
	b.ReportMetric(cpu.Seconds()/n, "cpu-s/run")
	b.ReportMetric(float64(requests)/n, "requests/run")
	b.ReportMetric(float64(requestMS)/1e3/n, "request-s/run")
	b.ReportMetric(float64(busyMS)/1e3/n, "busy-s/run")
	b.ReportMetric(float64(waitMS)/1e3/n, "wait-s/run")
	b.ReportMetric((2*cpu.Seconds()+float64(busyMS)/1e3/liveRunParallel)/n, "bound-s/run")
}

// liveRunParallel is the live run's --parallel (run's default): the checks that share the wire at a time.
const liveRunParallel = 4
