// Package limits bounds what the harness reads from files and servers it does not control: every input file has
// a byte limit, every HTTP body a byte limit after decompression, and a YAML document may not expand through
// aliases beyond a node budget (go-yaml's own guard catches nested "billion laughs" only, not one long scalar
// aliased many times). Each refusal names the limit, so the user knows what to change.
package limits

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	yaml "go.yaml.in/yaml/v3"
)

// The limits. They are far above anything a hand-written file or a conforming server sends.
const (
	// TargetFile bounds a target file (YAML or JSON).
	TargetFile = 1 << 20
	// ExpectedFile bounds an expected-deviation file.
	ExpectedFile = 1 << 20
	// PasswordFile bounds a password_file.
	PasswordFile = 64 << 10
	// CAFile bounds a tls.ca_file (a bundle of a few hundred certificates fits).
	CAFile = 4 << 20
	// Body bounds any HTTP body the checks and the login flows read, after gzip decoding (the discovery
	// document, token and error answers, KFP's JSON).
	Body = 1 << 20
	// YAMLNodes bounds the nodes a YAML document has once its aliases are expanded.
	YAMLNodes = 100_000
	// YAMLScalarBytes bounds the bytes of scalars a YAML document has once its aliases are expanded.
	YAMLScalarBytes = 4 << 20
)

// TooLargeError is an input over its limit.
type TooLargeError struct {
	What  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than the limit of %s", e.What, human(e.Limit))
}

func human(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadFile reads at most limit bytes of path; a longer file (or a device that never ends, such as /dev/zero) is
// a TooLargeError naming what and the limit.
func ReadFile(path, what string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, what+" "+path, limit)
}

// Read reads at most limit bytes of r; more is a TooLargeError.
func Read(r io.Reader, what string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{What: what, Limit: limit}
	}
	return b, nil
}

// ErrBodyTooLarge is what reading a response body past Body returns (wrapped in a TooLargeError).
var ErrBodyTooLarge = errors.New("response body too large")

// Transport wraps rt so that every response body reads at most limit bytes; reading past it fails with a
// TooLargeError rather than growing the process. Go's transport decodes gzip itself when it asked for it, so the
// limit applies to the decoded bytes and a gzip bomb stops at the limit too.
func Transport(rt http.RoundTripper, limit int64) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	if lt, ok := rt.(*limitTransport); ok && lt.limit <= limit {
		return lt
	}
	return &limitTransport{rt: rt, limit: limit}
}

// Client returns a copy of c (a new client if nil) whose transport limits bodies to limit bytes.
func Client(c *http.Client, limit int64) *http.Client {
	var cc http.Client
	if c != nil {
		cc = *c
	}
	cc.Transport = Transport(cc.Transport, limit)
	return &cc
}

type limitTransport struct {
	rt    http.RoundTripper
	limit int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	what := "the response body of " + req.Method + " " + req.URL.Redacted()
	resp.Body = &limitBody{rc: resp.Body, left: t.limit, limit: t.limit, what: what}
	return resp, nil
}

// CloseIdleConnections passes through, so http.Client.CloseIdleConnections reaches the wrapped transport.
func (t *limitTransport) CloseIdleConnections() {
	if c, ok := t.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type limitBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
	what  string
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte decides: a body of exactly limit bytes is fine.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: %w", ErrBodyTooLarge, &TooLargeError{What: b.what, Limit: b.limit})
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitBody) Close() error { return b.rc.Close() }

// CheckYAML refuses what a YAML decoder should not be handed: more than one document (a later document would be
// ignored silently), and aliases that expand the document beyond YAMLNodes nodes or YAMLScalarBytes bytes of
// scalars. It parses without expanding aliases, so its own memory stays proportional to the input. A syntax
// error is left to the real decoder, which words it better.
func CheckYAML(b []byte) error {
	return checkYAML(b, YAMLNodes, YAMLScalarBytes)
}

func checkYAML(b []byte, maxNodes, maxBytes int64) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil // empty or invalid: the real decoder says so
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil
		}
		if !emptyDocument(&next) {
			return fmt.Errorf("more than one YAML document (a line `---` after the first); only one is read, put everything in it")
		}
	}
	type cost struct{ nodes, bytes int64 }
	memo := map[*yaml.Node]cost{}
	var walk func(n *yaml.Node, depth int) cost
	walk = func(n *yaml.Node, depth int) cost {
		if n == nil || depth > 10_000 {
			return cost{}
		}
		if c, ok := memo[n]; ok {
			return c
		}
		memo[n] = cost{} // a cycle through an alias counts once
		c := cost{nodes: 1, bytes: int64(len(n.Value))}
		if n.Kind == yaml.AliasNode {
			c = walk(n.Alias, depth+1)
		}
		for _, ch := range n.Content {
			cc := walk(ch, depth+1)
			c.nodes += cc.nodes
			c.bytes += cc.bytes
			if c.nodes > maxNodes || c.bytes > maxBytes {
				break
			}
		}
		memo[n] = c
		return c
	}
	c := walk(&doc, 0)
	if c.nodes > maxNodes || c.bytes > maxBytes {
		return fmt.Errorf("the YAML aliases expand the document beyond the limit of %d nodes and %s of scalars; write the values out instead of aliasing them", maxNodes, human(maxBytes))
	}
	return nil
}

// emptyDocument is a document with nothing in it (a trailing `---`, or only a comment).
func emptyDocument(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return true
	}
	c := n.Content[0]
	return len(n.Content) == 1 && c.Kind == yaml.ScalarNode && c.Tag == "!!null" && (c.Value == "" || c.Value == "~" || c.Value == "null")
}
