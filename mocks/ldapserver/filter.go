package ldapserver

import (
	"fmt"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// tri is the three-valued result of a filter (RFC 4511 4.5.1.7): TRUE, FALSE or Undefined. An entry is
// returned only when the whole filter is TRUE; NOT of Undefined stays Undefined.
type tri int

const (
	fFalse tri = iota
	fTrue
	fUndefined
)

// errFilter is a filter the server cannot decode: a protocol error for the client.
type errFilter struct{ msg string }

func (e errFilter) Error() string { return "bad search filter: " + e.msg }

// maxFilterDepth bounds nesting so a hostile filter cannot exhaust the stack.
const maxFilterDepth = 32

// evalFilter evaluates a decoded BER filter against an entry. Supported as slapd evaluates them for the
// fixtures' attributes: and, or, not, equalityMatch, substrings, present, approxMatch (as equality, slapd's
// fallback when an attribute has no approximate rule). greaterOrEqual, lessOrEqual and extensibleMatch are
// Undefined: none of the fixtures' matching attributes has an ordering rule here.
func evalFilter(p *ber.Packet, e *dirEntry, depth int) (tri, error) {
	if depth > maxFilterDepth {
		return fUndefined, errFilter{"nested too deep"}
	}
	if p.ClassType != ber.ClassContext {
		return fUndefined, errFilter{"not a context-specific filter choice"}
	}
	switch p.Tag {
	case ldap.FilterAnd:
		if len(p.Children) == 0 { // RFC 4526 absolute true
			return fTrue, nil
		}
		out := fTrue
		for _, c := range p.Children {
			v, err := evalFilter(c, e, depth+1)
			if err != nil {
				return fUndefined, err
			}
			if v == fFalse {
				out = fFalse
			} else if v == fUndefined && out == fTrue {
				out = fUndefined
			}
		}
		return out, nil
	case ldap.FilterOr:
		out := fFalse // RFC 4526 absolute false for (|)
		for _, c := range p.Children {
			v, err := evalFilter(c, e, depth+1)
			if err != nil {
				return fUndefined, err
			}
			if v == fTrue {
				out = fTrue
			} else if v == fUndefined && out == fFalse {
				out = fUndefined
			}
		}
		return out, nil
	case ldap.FilterNot:
		if len(p.Children) != 1 {
			return fUndefined, errFilter{"not needs exactly one filter"}
		}
		v, err := evalFilter(p.Children[0], e, depth+1)
		switch {
		case err != nil:
			return fUndefined, err
		case v == fTrue:
			return fFalse, nil
		case v == fFalse:
			return fTrue, nil
		}
		return fUndefined, nil
	case ldap.FilterEqualityMatch, ldap.FilterApproxMatch:
		attr, value, err := assertion(p)
		if err != nil {
			return fUndefined, err
		}
		return equality(e, attr, value), nil
	case ldap.FilterPresent:
		attr := string(p.Data.Bytes())
		if attr == "" {
			return fUndefined, errFilter{"present without an attribute"}
		}
		if strings.EqualFold(attr, "objectClass") || len(e.Get(attr)) > 0 {
			return fTrue, nil
		}
		return fFalse, nil
	case ldap.FilterSubstrings:
		return substrings(p, e)
	case ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual, ldap.FilterExtensibleMatch:
		return fUndefined, nil
	}
	return fUndefined, errFilter{fmt.Sprintf("unknown filter choice %d", p.Tag)}
}

func assertion(p *ber.Packet) (string, string, error) {
	if len(p.Children) != 2 {
		return "", "", errFilter{"an attribute value assertion needs an attribute and a value"}
	}
	attr := string(p.Children[0].Data.Bytes())
	if attr == "" {
		return "", "", errFilter{"empty attribute description"}
	}
	return attr, string(p.Children[1].Data.Bytes()), nil
}

func equality(e *dirEntry, attr, value string) tri {
	if strings.EqualFold(attr, "dn") || strings.EqualFold(attr, "entryDN") {
		return boolTri(valuesMatch("distinguishedName", value, []string{e.DN}))
	}
	// An assertion value the attribute's syntax rejects makes the component Undefined for every entry, with
	// or without the attribute, as slapd's filter parsing does.
	if dnValued[strings.ToLower(attr)] {
		if _, err := ldap.ParseDN(value); err != nil {
			return fUndefined
		}
	}
	undefined := false
	for _, v := range e.Get(attr) {
		match, ok := valuesEqual(attr, value, v)
		if !ok {
			undefined = true
			break
		}
		if match {
			return fTrue
		}
	}
	if undefined {
		return fUndefined
	}
	return fFalse
}

func valuesMatch(attr, value string, stored []string) bool {
	for _, v := range stored {
		if m, ok := valuesEqual(attr, value, v); ok && m {
			return true
		}
	}
	return false
}

// substrings is caseIgnoreSubstringsMatch: initial, any (in order, not overlapping) and final on normalized
// values. DN-valued and octet attributes have no substrings rule: Undefined.
func substrings(p *ber.Packet, e *dirEntry) (tri, error) {
	if len(p.Children) != 2 {
		return fUndefined, errFilter{"substrings needs an attribute and a sequence"}
	}
	attr := string(p.Children[0].Data.Bytes())
	la := strings.ToLower(attr)
	if dnValued[la] || octetValued[la] {
		return fUndefined, nil
	}
	var initial, final string
	var any []string
	for _, s := range p.Children[1].Children {
		v := normalize(string(s.Data.Bytes()))
		switch s.Tag {
		case ldap.FilterSubstringsInitial:
			initial = v
		case ldap.FilterSubstringsAny:
			any = append(any, v)
		case ldap.FilterSubstringsFinal:
			final = v
		default:
			return fUndefined, errFilter{"unknown substrings choice"}
		}
	}
	for _, stored := range e.Get(attr) {
		v := normalize(stored)
		if !strings.HasPrefix(v, initial) {
			continue
		}
		rest := v[len(initial):]
		ok := true
		for _, a := range any {
			i := strings.Index(rest, a)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(a):]
		}
		if ok && strings.HasSuffix(rest, final) {
			return fTrue, nil
		}
	}
	return fFalse, nil
}

func boolTri(b bool) tri {
	if b {
		return fTrue
	}
	return fFalse
}
