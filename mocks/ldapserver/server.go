// Package ldapserver is an in-process LDAP server for the embedded tier: LDAPv3 simple bind and search over
// TCP on loopback, serving a read-only directory loaded from the same LDIF file that slapd loads, and
// evaluating search filters for real (and, or, not, equality, substrings, presence) under the matching rules
// of the fixtures' attributes. It answers like slapd with the fixtures' configuration does: the result codes
// of RFC 4511, noSuchObject for a missing base, invalidCredentials for any failed simple bind, slapd's
// default size limit of 500, and userPassword never returned. Write operations are refused.
//
// Candidates considered: gldap's testdirectory matches filter terms against the DN text instead of evaluating
// filters, and gldap's server would still leave the evaluation to us, so the protocol subset is written here on
// go-asn1-ber, the codec go-ldap uses, with go-ldap's DN parsing.
package ldapserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// Timeouts of a connection: an idle client is dropped, a client that stops reading is not waited for.
const (
	idleTimeout  = 2 * time.Minute
	writeTimeout = 10 * time.Second
	// defaultSizeLimit is slapd's olcSizeLimit default.
	defaultSizeLimit = 500
)

// Server is a running LDAP server.
type Server struct {
	dir *Directory
	lis net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start listens on addr (use "127.0.0.1:0") and serves dir until Close.
func Start(addr string, dir *Directory) (*Server, error) {
	if dir == nil {
		return nil, errors.New("ldapserver: no directory")
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ldapserver: listen %s: %w", addr, err)
	}
	s := &Server{dir: dir, lis: lis, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// StartLDIF serves a directory given as LDIF (fixtures.DirectoryLDIF) on 127.0.0.1:0.
func StartLDIF(ldif []byte) (*Server, error) { return StartLDIFOn("127.0.0.1:0", ldif) }

// StartLDIFOn is StartLDIF on the given address.
func StartLDIFOn(addr string, ldif []byte) (*Server, error) {
	entries, err := ParseLDIF(bytes.NewReader(ldif))
	if err != nil {
		return nil, fmt.Errorf("LDIF: %w", err)
	}
	dir, err := NewDirectory(entries)
	if err != nil {
		return nil, fmt.Errorf("LDIF: %w", err)
	}
	return Start(addr, dir)
}

// Addr is host:port.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// URL is ldap://host:port.
func (s *Server) URL() string { return "ldap://" + s.Addr() }

// Close stops listening, drops every connection and waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.lis.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.lis.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// session is one connection's state: who is bound.
type session struct {
	conn  net.Conn
	bound string // DN of the last successful bind, "" for anonymous
}

func (s *Server) serveConn(c net.Conn) {
	r := bufio.NewReader(c)
	sess := &session{conn: c}
	for {
		_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
		frame, err := readFrame(r)
		if err != nil {
			return
		}
		msg, err := ber.DecodePacketErr(frame)
		if err != nil || len(msg.Children) < 2 {
			return // a message that does not decode: slapd drops the connection too
		}
		id, ok := msg.Children[0].Value.(int64)
		if !ok {
			return
		}
		op := msg.Children[1]
		if op.ClassType != ber.ClassApplication {
			return
		}
		switch op.Tag {
		case ldap.ApplicationBindRequest:
			err = s.bind(sess, id, op)
		case ldap.ApplicationSearchRequest:
			err = s.search(sess, id, op)
		case ldap.ApplicationUnbindRequest:
			return
		case ldap.ApplicationAbandonRequest:
			continue // every operation completes before the next is read: nothing to abandon
		case ldap.ApplicationModifyRequest, ldap.ApplicationAddRequest, ldap.ApplicationDelRequest,
			ldap.ApplicationModifyDNRequest, ldap.ApplicationCompareRequest:
			err = sess.result(id, op.Tag+1, ldap.LDAPResultUnwillingToPerform, "", "the directory is read-only")
		case ldap.ApplicationExtendedRequest:
			err = sess.result(id, ldap.ApplicationExtendedResponse, ldap.LDAPResultProtocolError, "", "unsupported extended operation")
		default:
			return
		}
		if err != nil {
			return
		}
	}
}

// bind is a simple bind (RFC 4513 5.1): anonymous with an empty name and password, refused with a name and no
// password (slapd's "unauthenticated bind (DN with no password) disallowed"), else the entry's userPassword.
func (s *Server) bind(sess *session, id int64, op *ber.Packet) error {
	const tag = ldap.ApplicationBindResponse
	sess.bound = ""
	if len(op.Children) != 3 {
		return sess.result(id, tag, ldap.LDAPResultProtocolError, "", "malformed bind request")
	}
	if v, _ := op.Children[0].Value.(int64); v != 3 {
		return sess.result(id, tag, ldap.LDAPResultProtocolError, "", "requested protocol version not allowed")
	}
	name := string(op.Children[1].Data.Bytes())
	auth := op.Children[2]
	if auth.ClassType != ber.ClassContext || auth.Tag != 0 {
		return sess.result(id, tag, ldap.LDAPResultAuthMethodNotSupported, "", "only simple binds are supported")
	}
	password := string(auth.Data.Bytes())
	switch {
	case name == "" && password == "":
		return sess.result(id, tag, ldap.LDAPResultSuccess, "", "")
	case password == "":
		return sess.result(id, tag, ldap.LDAPResultUnwillingToPerform, "", "unauthenticated bind (DN with no password) disallowed")
	}
	dn, err := ldap.ParseDN(name)
	if err != nil {
		return sess.result(id, tag, ldap.LDAPResultInvalidDNSyntax, "", "invalid DN")
	}
	e, ok := s.dir.find(dn)
	if !ok || (!checkPassword(e.Get("userPassword"), password) && !mutate.On(mutate.LDAPAnyPassword)) {
		return sess.result(id, tag, ldap.LDAPResultInvalidCredentials, "", "")
	}
	sess.bound = e.DN
	return sess.result(id, tag, ldap.LDAPResultSuccess, "", "")
}

// search evaluates the filter on every entry in scope, in load order.
func (s *Server) search(sess *session, id int64, op *ber.Packet) error {
	const done = ldap.ApplicationSearchResultDone
	if len(op.Children) != 8 {
		return sess.result(id, done, ldap.LDAPResultProtocolError, "", "malformed search request")
	}
	baseStr := string(op.Children[0].Data.Bytes())
	scope, _ := op.Children[1].Value.(int64)
	sizeLimit, _ := op.Children[3].Value.(int64)
	typesOnly, _ := op.Children[5].Value.(bool)
	filter := op.Children[6]
	var attrs []string
	for _, a := range op.Children[7].Children {
		attrs = append(attrs, string(a.Data.Bytes()))
	}
	if scope != ldap.ScopeBaseObject && scope != ldap.ScopeSingleLevel && scope != ldap.ScopeWholeSubtree {
		return sess.result(id, done, ldap.LDAPResultProtocolError, "", "unknown scope")
	}
	base, err := ldap.ParseDN(baseStr)
	if err != nil {
		return sess.result(id, done, ldap.LDAPResultInvalidDNSyntax, "", "invalid DN")
	}
	if _, ok := s.dir.find(base); !ok {
		return sess.result(id, done, ldap.LDAPResultNoSuchObject, s.matchedDN(base), "")
	}
	limit := int64(defaultSizeLimit)
	if sizeLimit > 0 && sizeLimit < limit {
		limit = sizeLimit
	}
	var sent int64
	for i := range s.dir.entries {
		e := &s.dir.entries[i]
		if !inScope(base, e.dn, scope) {
			continue
		}
		v, err := evalFilter(filter, e, 0)
		if err != nil {
			return sess.result(id, done, ldap.LDAPResultProtocolError, "", err.Error())
		}
		if v != fTrue {
			continue
		}
		if sent == limit {
			return sess.result(id, done, ldap.LDAPResultSizeLimitExceeded, "", "")
		}
		if err := sess.write(id, entryPacket(e, attrs, typesOnly)); err != nil {
			return err
		}
		sent++
	}
	return sess.result(id, done, ldap.LDAPResultSuccess, "", "")
}

// matchedDN is the longest existing ancestor of a missing base, as slapd reports it.
func (s *Server) matchedDN(dn *ldap.DN) string {
	for d := parentOf(dn); len(d.RDNs) > 0; d = parentOf(d) {
		if e, ok := s.dir.find(d); ok {
			return e.DN
		}
	}
	return ""
}

// entryPacket is a SearchResultEntry with the requested attributes: all user attributes for none or "*",
// none for "1.1", else the named ones (case-insensitive, in the entry's order and spelling).
func entryPacket(e *dirEntry, want []string, typesOnly bool) *ber.Packet {
	all := len(want) == 0
	named := map[string]bool{}
	for _, w := range want {
		if w == "*" {
			all = true
		}
		named[strings.ToLower(w)] = true
	}
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "entry")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, e.DN, "dn"))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes")
	for _, a := range e.Attrs {
		la := strings.ToLower(a.Name)
		if hidden[la] || !(all || named[la]) {
			continue
		}
		pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attribute")
		pa.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a.Name, "type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "vals")
		if !typesOnly {
			for _, v := range a.Values {
				set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "val"))
			}
		}
		pa.AppendChild(set)
		list.AppendChild(pa)
	}
	p.AppendChild(list)
	return p
}

func (sess *session) result(id int64, tag ber.Tag, code uint16, matched, diag string) error {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "result")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "resultCode"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, matched, "matchedDN"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, "diagnosticMessage"))
	return sess.write(id, p)
}

func (sess *session) write(id int64, op *ber.Packet) error {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	msg.AppendChild(op)
	_ = sess.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := sess.conn.Write(msg.Bytes())
	return err
}
