package ldapserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// maxMessage bounds one LDAP message; a client that announces more is disconnected before anything is
// allocated for it.
const maxMessage = 1 << 20

// readFrame reads one BER TLV with a definite length of at most maxMessage, and checks that every nested
// length fits inside its parent, so decoding it cannot allocate more than the frame.
func readFrame(r *bufio.Reader) ([]byte, error) {
	var hdr []byte
	b, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	hdr = append(hdr, b)
	if b&0x1f == 0x1f {
		return nil, errors.New("high tag numbers are not used by LDAP messages")
	}
	l, err := r.ReadByte()
	if err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	hdr = append(hdr, l)
	length := 0
	switch {
	case l == 0x80:
		return nil, errors.New("indefinite lengths are not allowed in LDAP")
	case l&0x80 == 0:
		length = int(l)
	default:
		n := int(l & 0x7f)
		if n > 4 {
			return nil, errors.New("length field too long")
		}
		for range n {
			c, err := r.ReadByte()
			if err != nil {
				return nil, io.ErrUnexpectedEOF
			}
			hdr = append(hdr, c)
			length = length<<8 | int(c)
		}
	}
	if length > maxMessage {
		return nil, fmt.Errorf("message of %d bytes is over the %d byte limit", length, maxMessage)
	}
	frame := make([]byte, len(hdr)+length)
	copy(frame, hdr)
	if _, err := io.ReadFull(r, frame[len(hdr):]); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	if err := checkTLVs(frame[len(hdr):], 0, b&0x20 != 0); err != nil {
		return nil, err
	}
	return frame, nil
}

// checkTLVs walks the content of a constructed value: each child must have a definite length within the
// remaining bytes.
func checkTLVs(b []byte, depth int, constructed bool) error {
	if !constructed {
		return nil
	}
	if depth > 64 {
		return errors.New("BER nested too deep")
	}
	for len(b) > 0 {
		if len(b) < 2 {
			return errors.New("truncated BER element")
		}
		id, l := b[0], b[1]
		if id&0x1f == 0x1f {
			return errors.New("high tag numbers are not used by LDAP messages")
		}
		pos, length := 2, 0
		switch {
		case l == 0x80:
			return errors.New("indefinite lengths are not allowed in LDAP")
		case l&0x80 == 0:
			length = int(l)
		default:
			n := int(l & 0x7f)
			if n > 4 || len(b) < 2+n {
				return errors.New("bad BER length")
			}
			for i := range n {
				length = length<<8 | int(b[2+i])
			}
			pos += n
		}
		if length > len(b)-pos {
			return errors.New("BER element longer than its parent")
		}
		if err := checkTLVs(b[pos:pos+length], depth+1, id&0x20 != 0); err != nil {
			return err
		}
		b = b[pos+length:]
	}
	return nil
}
