package ldapserver

import (
	"crypto/sha1" //nolint:gosec // {SHA} and {SSHA} are the schemes slapd's userPassword uses
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Directory is a read-only set of entries, indexed by DN, in load order (the order slapd's mdb backend returns
// entries loaded by slapadd).
type Directory struct {
	entries []dirEntry
}

type dirEntry struct {
	Entry
	dn *ldap.DN
}

// NewDirectory checks the entries (each DN parses, no DN twice, every entry's parent exists unless it is a
// suffix) and indexes them.
func NewDirectory(entries []Entry) (*Directory, error) {
	d := &Directory{}
	for _, e := range entries {
		dn, err := parseDN(e.DN)
		if err != nil {
			return nil, err
		}
		if _, ok := d.find(dn); ok {
			return nil, fmt.Errorf("ldap directory: entry %q is defined twice", e.DN)
		}
		if len(dn.RDNs) > 1 && len(d.entries) > 0 {
			if _, ok := d.find(parentOf(dn)); !ok && !d.isSuffixSibling(dn) {
				return nil, fmt.Errorf("ldap directory: the parent of %q is not defined before it", e.DN)
			}
		}
		d.entries = append(d.entries, dirEntry{Entry: e, dn: dn})
	}
	return d, nil
}

// isSuffixSibling allows a second suffix: an entry whose parent is absent because it is itself a root entry of
// the data (the first entry is taken as the suffix; others must hang below loaded entries).
func (d *Directory) isSuffixSibling(dn *ldap.DN) bool {
	return len(d.entries) > 0 && len(dn.RDNs) == len(d.entries[0].dn.RDNs)
}

func (d *Directory) find(dn *ldap.DN) (*dirEntry, bool) {
	for i := range d.entries {
		if d.entries[i].dn.EqualFold(dn) {
			return &d.entries[i], true
		}
	}
	return nil, false
}

// Len is the number of entries.
func (d *Directory) Len() int { return len(d.entries) }

func parseDN(s string) (*ldap.DN, error) {
	dn, err := ldap.ParseDN(s)
	if err != nil {
		return nil, fmt.Errorf("invalid DN %q: %w", s, err)
	}
	return dn, nil
}

func parentOf(dn *ldap.DN) *ldap.DN {
	if len(dn.RDNs) == 0 {
		return dn
	}
	return &ldap.DN{RDNs: dn.RDNs[1:]}
}

// inScope reports whether e is within scope of base (RFC 4511 4.5.1.2).
func inScope(base, e *ldap.DN, scope int64) bool {
	switch scope {
	case ldap.ScopeBaseObject:
		return base.EqualFold(e)
	case ldap.ScopeSingleLevel:
		return len(e.RDNs) == len(base.RDNs)+1 && base.AncestorOfFold(e)
	case ldap.ScopeWholeSubtree:
		return base.EqualFold(e) || base.AncestorOfFold(e)
	}
	return false
}

// dnValued are the attributes of DN syntax in OpenLDAP's core schema the fixtures use: they compare with
// distinguishedNameMatch (parsed, case-insensitive per RDN), not as strings.
var dnValued = map[string]bool{"member": true, "uniquemember": true, "owner": true, "seealso": true,
	"manager": true, "roleoccupant": true, "distinguishedname": true}

// octetValued compare byte for byte (octetStringMatch).
var octetValued = map[string]bool{"userpassword": true}

// hidden attributes are never returned by search: the fixtures' ACL (olcAccess) gives userPassword to nobody
// but the bind itself, and both servers must answer alike.
var hidden = map[string]bool{"userpassword": true}

// normalize is caseIgnoreMatch's preparation (RFC 4518, reduced): case folded, leading and trailing spaces
// dropped, inner runs of spaces collapsed to one.
func normalize(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// valuesEqual compares an assertion value with a stored value under the attribute's equality rule. ok is false
// when the assertion is not valid for the rule (an Undefined filter component).
func valuesEqual(attr, assertion, stored string) (match, ok bool) {
	a := strings.ToLower(attr)
	switch {
	case dnValued[a]:
		want, err := ldap.ParseDN(assertion)
		if err != nil {
			return false, false
		}
		got, err := ldap.ParseDN(stored)
		if err != nil {
			return false, true
		}
		return want.EqualFold(got), true
	case octetValued[a]:
		return assertion == stored, true
	}
	return normalize(assertion) == normalize(stored), true
}

// checkPassword verifies a simple bind's password against userPassword values: cleartext, {SSHA} or {SHA}, as
// slapd's default password schemes do. Comparisons are constant-time.
func checkPassword(stored []string, password string) bool {
	for _, v := range stored {
		scheme, rest := "", v
		if strings.HasPrefix(v, "{") {
			if i := strings.IndexByte(v, '}'); i > 0 {
				scheme, rest = strings.ToUpper(v[1:i]), v[i+1:]
			}
		}
		switch scheme {
		case "":
			if subtle.ConstantTimeCompare([]byte(v), []byte(password)) == 1 {
				return true
			}
		case "SSHA", "SHA":
			raw, err := base64.StdEncoding.DecodeString(rest)
			if err != nil || len(raw) < sha1.Size {
				continue
			}
			digest, salt := raw[:sha1.Size], raw[sha1.Size:]
			if scheme == "SHA" && len(salt) != 0 {
				continue
			}
			h := sha1.New()
			h.Write([]byte(password))
			h.Write(salt)
			if subtle.ConstantTimeCompare(h.Sum(nil), digest) == 1 {
				return true
			}
		}
	}
	return false
}
