package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/report"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// underCI reports whether the command runs in a CI job (GitHub Actions, GitLab, most others set CI), where a log
// wants the progress lines a terminal gets.
func underCI() bool {
	return os.Getenv("GITHUB_ACTIONS") == "true" || (os.Getenv("CI") != "" && os.Getenv("CI") != "false")
}

// progressOn decides --progress: always, never, or auto (a terminal on stderr, or a CI job).
func progressOn(mode string, stderr io.Writer) bool {
	return mode == "always" || (mode == "auto" && (isTerminal(stderr) || underCI()))
}

// textOptions fit the text matrix to stdout: its width where it is a terminal, colour there unless NO_COLOR is
// set (https://no-color.org: any non-empty value).
func textOptions(stdout io.Writer, wide bool) report.TextOptions {
	o := report.TextOptions{Wide: wide}
	f, ok := stdout.(*os.File)
	if !ok || !isTerminal(stdout) {
		return o
	}
	if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
		o.Width = w
	}
	o.Color = os.Getenv("NO_COLOR") == ""
	return o
}

// progressPrinter prints "[n/N]" per finished check and, while a long check runs, a heartbeat line every
// heartbeat so that a silent minute never looks like a hang.
type progressPrinter struct {
	w         io.Writer
	mu        *sync.Mutex
	total     int
	done      int
	labels    []string
	last      time.Time
	heartbeat time.Duration
	stop      chan struct{}
	stopped   sync.WaitGroup
}

func newProgressPrinter(w io.Writer, mu *sync.Mutex, total int, labels []string, heartbeat time.Duration) *progressPrinter {
	p := &progressPrinter{w: w, mu: mu, total: total, labels: labels, last: time.Now(), heartbeat: heartbeat, stop: make(chan struct{})}
	p.stopped.Add(1)
	go p.beat()
	return p
}

func (p *progressPrinter) result(i int, r result.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.last = time.Now()
	width := len(fmt.Sprint(p.total))
	fmt.Fprintf(p.w, "  [%*d/%d] %-13s %-14s %-5s %6dms %s\n", width, p.done, p.total, p.labels[i], r.ID, r.Status, r.DurationMS, r.Reason)
}

func (p *progressPrinter) beat() {
	defer p.stopped.Done()
	t := time.NewTicker(p.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			if idle := now.Sub(p.last); idle >= p.heartbeat && p.done < p.total {
				fmt.Fprintf(p.w, "  [%d/%d] still running: %d check(s) left, %s since the last one finished\n",
					p.done, p.total, p.total-p.done, idle.Round(time.Second))
			}
			p.mu.Unlock()
		}
	}
}

// close stops the heartbeat and waits for it.
func (p *progressPrinter) close() {
	close(p.stop)
	p.stopped.Wait()
}

// summaryOnce reports whether run's own summary (printSummary on stderr) adds anything: not when the text matrix,
// which ends with the same summary, went to the same terminal.
func summaryOnce(formats []string, outDir string, stdout, stderr io.Writer) bool {
	textOnStdout := outDir != "" || (len(formats) == 1 && formats[0] == "text")
	return !(textOnStdout && isTerminal(stdout) && isTerminal(stderr))
}

// registerRunCompletion completes run's flag values: server profiles, check IDs and families, report formats,
// tiers; a comma-separated list completes its last element.
func registerRunCompletion(cmd *cobra.Command) {
	ids := func() []string {
		var out []string
		for _, c := range checks.All() {
			if !contains(out, c.Family) {
				out = append(out, c.Family)
			}
		}
		for _, c := range checks.All() {
			out = append(out, c.ID)
		}
		return out
	}
	for flag, values := range map[string]func() []string{
		"profile": profile.Names,
		"only":    ids,
		"format":  func() []string { return knownFormats },
		"tier":    clusters.Names,
		"fail-on": func() []string { return []string{"fail", "warn"} },
	} {
		_ = cmd.RegisterFlagCompletionFunc(flag, completeList(values))
	}
}

func completeList(values func() []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		prefix := ""
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			prefix = toComplete[:i+1]
		}
		var out []string
		for _, v := range values() {
			if strings.HasPrefix(prefix+v, toComplete) {
				out = append(out, prefix+v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}
