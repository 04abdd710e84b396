package oauth2proxy

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pierrec/lz4/v4"
)

// Cookie values are built as oauth2-proxy's pkg/encryption builds them: the payload is encrypted, then written
// as "<base64url payload>|<unix seconds>|<base64url HMAC-SHA256(secret; name, payload, seconds)>".

// secretBytes mirrors encryption.SecretBytes: base64 (URL alphabet, padding optional) when that decodes to an
// AES key length, the raw bytes otherwise.
func secretBytes(secret []byte) []byte {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(string(secret), "="))
	if err == nil && (len(b) == 16 || len(b) == 24 || len(b) == 32) {
		return b
	}
	return secret
}

// signValue returns the three-part signed cookie value for name.
func signValue(secret []byte, name string, payload []byte, now time.Time) string {
	encoded := base64.URLEncoding.EncodeToString(payload)
	ts := strconv.FormatInt(now.Unix(), 10)
	return encoded + "|" + ts + "|" + cookieSignature(secret, name, encoded, ts)
}

// verifyValue checks a signed cookie value and returns its payload. As encryption.Validate, the timestamp must
// lie in (now-expire, now+5m); expire 0 disables that window.
func verifyValue(secret []byte, name, value string, expire time.Duration, now time.Time) ([]byte, error) {
	parts := strings.Split(value, "|")
	if len(parts) != 3 {
		return nil, errors.New("cookie value is not payload|timestamp|signature")
	}
	want, err := base64.URLEncoding.DecodeString(cookieSignature(secret, name, parts[0], parts[1]))
	if err != nil {
		return nil, fmt.Errorf("computing signature: %w", err)
	}
	got, err := base64.URLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(got, want) {
		return nil, errors.New("cookie signature not valid")
	}
	ts, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("cookie timestamp: %w", err)
	}
	signed := time.Unix(ts, 0)
	if expire != 0 && !(signed.After(now.Add(-expire)) && signed.Before(now.Add(5*time.Minute))) {
		return nil, errors.New("cookie timestamp outside the accepted window")
	}
	payload, err := base64.URLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("cookie payload: %w", err)
	}
	return payload, nil
}

func cookieSignature(secret []byte, parts ...string) string {
	mac := hmac.New(sha256.New, secret)
	for _, p := range parts {
		mac.Write([]byte(p))
	}
	return base64.URLEncoding.EncodeToString(mac.Sum(nil))
}

// sealer encrypts cookie payloads with AES-GCM (oauth2-proxy offers GCM and CFB; GCM also authenticates).
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealer{}, fmt.Errorf("cookie cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, fmt.Errorf("cookie cipher: %w", err)
	}
	return sealer{aead: aead}, nil
}

func (s sealer) seal(plain []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("cookie nonce: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plain, nil), nil
}

func (s sealer) open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("encrypted cookie payload too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("decrypting cookie payload: %w", err)
	}
	return plain, nil
}

// encodeCookieValue is a cookie value for name carrying v: JSON, LZ4-compressed when compress is set (oauth2-proxy
// compresses sessions before encrypting them, which decides how many _N parts a large session splits into),
// encrypted, then signed.
func (p *Proxy) encodeCookieValue(name string, v any, now time.Time, compress bool) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding cookie %s: %w", name, err)
	}
	if compress {
		if plain, err = lz4Compress(plain); err != nil {
			return "", fmt.Errorf("encoding cookie %s: %w", name, err)
		}
	}
	sealed, err := p.sealer.seal(plain)
	if err != nil {
		return "", err
	}
	return signValue(p.cfg.CookieSecret, name, sealed, now), nil
}

// decodeCookieValue checks the signature and age (CookieExpire) of a value of cookie name, then decrypts it
// into v.
func (p *Proxy) decodeCookieValue(name, value string, v any, compressed bool) error {
	sealed, err := verifyValue(p.cfg.CookieSecret, name, value, p.cfg.CookieExpire, p.cfg.Now())
	if err != nil {
		return err
	}
	plain, err := p.sealer.open(sealed)
	if err != nil {
		return err
	}
	if compressed {
		if plain, err = lz4Decompress(plain); err != nil {
			return fmt.Errorf("decoding cookie %s: %w", name, err)
		}
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("decoding cookie %s: %w", name, err)
	}
	return nil
}

// maxSessionPayload bounds a decompressed session: far above any real ID token, far below a memory problem.
const maxSessionPayload = 1 << 20

// lz4Compress is oauth2-proxy's pkg/apis/sessions lz4Compress: an LZ4 frame, 64 KiB blocks, fast level.
func lz4Compress(payload []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := lz4.NewWriter(&buf)
	if err := zw.Apply(lz4.BlockSizeOption(lz4.BlockSize(65536)), lz4.CompressionLevelOption(lz4.Fast)); err != nil {
		return nil, fmt.Errorf("lz4 options: %w", err)
	}
	if _, err := zw.Write(payload); err != nil {
		return nil, fmt.Errorf("lz4 compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("lz4 compress: %w", err)
	}
	return buf.Bytes(), nil
}

// lz4Decompress reverses lz4Compress, bounded.
func lz4Decompress(compressed []byte) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(lz4.NewReader(bytes.NewReader(compressed)), maxSessionPayload+1))
	if err != nil {
		return nil, fmt.Errorf("lz4 decompress: %w", err)
	}
	if len(out) > maxSessionPayload {
		return nil, errors.New("lz4 decompress: session larger than 1 MiB")
	}
	return out, nil
}
