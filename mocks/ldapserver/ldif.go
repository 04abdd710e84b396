package ldapserver

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// Entry is one directory entry: its DN and its attributes in LDIF order.
type Entry struct {
	DN    string
	Attrs []Attr
}

// Attr is one attribute with its values, named as the LDIF names it.
type Attr struct {
	Name   string
	Values []string
}

// Get returns the values of attribute name (case-insensitive, as LDAP attribute descriptions are).
func (e *Entry) Get(name string) []string {
	for _, a := range e.Attrs {
		if strings.EqualFold(a.Name, name) {
			return a.Values
		}
	}
	return nil
}

// maxLDIFLine bounds one logical line, so a corrupt file gives an error rather than unbounded memory.
const maxLDIFLine = 1 << 20

// ParseLDIF parses LDIF content records (RFC 2849): "dn:" first, "attr: value", "attr:: base64", folded lines
// that continue with one space, comments, and a blank line between records. Change records (changetype:) and
// URL values (attr:<) are refused: slapadd would take them differently.
func ParseLDIF(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLDIFLine)
	var (
		entries []Entry
		cur     *Entry
		logical string
		lineNo  int
		startNo int
	)
	flushLine := func() error {
		if logical == "" {
			return nil
		}
		line := logical
		logical = ""
		name, value, err := parseLDIFLine(line)
		if err != nil {
			return fmt.Errorf("line %d: %w", startNo, err)
		}
		switch {
		case cur == nil && strings.EqualFold(name, "version"):
			return nil
		case cur == nil:
			if !strings.EqualFold(name, "dn") {
				return fmt.Errorf("line %d: a record must start with dn:, got %q", startNo, name)
			}
			if _, err := parseDN(value); err != nil {
				return fmt.Errorf("line %d: %w", startNo, err)
			}
			entries = append(entries, Entry{DN: value})
			cur = &entries[len(entries)-1]
		case strings.EqualFold(name, "changetype"):
			return fmt.Errorf("line %d: change records are not supported", startNo)
		default:
			addValue(cur, name, value)
		}
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, " ") && logical != "":
			logical += line[1:]
			if len(logical) > maxLDIFLine {
				return nil, fmt.Errorf("line %d: logical line longer than %d bytes", lineNo, maxLDIFLine)
			}
		case strings.HasPrefix(line, "#"):
			if err := flushLine(); err != nil {
				return nil, err
			}
		case strings.TrimSpace(line) == "":
			if err := flushLine(); err != nil {
				return nil, err
			}
			cur = nil
		default:
			if err := flushLine(); err != nil {
				return nil, err
			}
			logical, startNo = line, lineNo
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flushLine(); err != nil {
		return nil, err
	}
	return entries, nil
}

func parseLDIFLine(line string) (name, value string, err error) {
	i := strings.IndexByte(line, ':')
	if i <= 0 {
		return "", "", fmt.Errorf("no attribute name before ':'")
	}
	name, rest := line[:i], line[i+1:]
	switch {
	case strings.HasPrefix(rest, ":"):
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest[1:]))
		if err != nil {
			return "", "", fmt.Errorf("attribute %s: bad base64: %w", name, err)
		}
		return name, string(b), nil
	case strings.HasPrefix(rest, "<"):
		return "", "", fmt.Errorf("attribute %s: URL values are not supported", name)
	}
	return name, strings.TrimLeft(rest, " "), nil
}

func addValue(e *Entry, name, value string) {
	for i := range e.Attrs {
		if strings.EqualFold(e.Attrs[i].Name, name) {
			e.Attrs[i].Values = append(e.Attrs[i].Values, value)
			return
		}
	}
	e.Attrs = append(e.Attrs, Attr{Name: name, Values: []string{value}})
}
