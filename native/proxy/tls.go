package proxy

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
)

var fingerprintPrefix = regexp.MustCompile(`(?i)^(sha-?256( fingerprint)?[:=]?\s*)`)
var hex64 = regexp.MustCompile(`^[0-9A-F]{64}$`)

// NormalizeFingerprint: "ab cd…", "sha256:ABCD…" → "AB:CD:…" (common/tls/fingerprint.ts).
func NormalizeFingerprint(in string) (string, error) {
	h := strings.ToUpper(strings.NewReplacer(":", "", " ", "", "\t", "").Replace(fingerprintPrefix.ReplaceAllString(strings.TrimSpace(in), "")))
	if !hex64.MatchString(h) {
		return "", fmt.Errorf("not a SHA-256 certificate fingerprint (64 hex digits, colons optional): %q", in)
	}
	parts := make([]string, 32)
	for i := range parts {
		parts[i] = h[2*i : 2*i+2]
	}
	return strings.Join(parts, ":"), nil
}

func fingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// TrustError: the gateway's certificate was refused (common/tls/errors.ts TlsTrustError).
type TrustError struct{ Msg string }

func (e *TrustError) Error() string { return e.Msg }

const whereToCompare = `the one hangard prints at start, on stderr and in its log as "TLS certificate SHA-256 fingerprint …"`

// TLSConfig accepts a certificate a trusted CA (the system's plus CAPEM) signed for the host, or one whose
// fingerprint is pinned (common/tls/trust.ts judgeCertificate). The check runs in the handshake: no byte (no
// token) is sent to a server that fails it.
func (g *Gateway) TLSConfig(host string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if len(g.CAPEM) > 0 && !roots.AppendCertsFromPEM(g.CAPEM) {
		return nil, errors.New("the CA file holds no usable certificate")
	}
	pin := ""
	if g.Fingerprint != "" {
		if pin, err = NormalizeFingerprint(g.Fingerprint); err != nil {
			return nil, err
		}
	}
	bare := strings.Trim(host, "[]")
	cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	if net.ParseIP(bare) == nil {
		cfg.ServerName = bare // no SNI for IP addresses (RFC 6066)
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the gateway presented no certificate")
		}
		leaf := cs.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, verr := leaf.Verify(x509.VerifyOptions{DNSName: bare, Roots: roots, Intermediates: inter})
		if verr == nil {
			return nil
		}
		got := fingerprintOf(leaf.Raw)
		if pin == "" {
			return &TrustError{fmt.Sprintf("the TLS certificate of %s is not trusted (%v); its SHA-256 fingerprint is %s. "+
				"Compare it with %s; then `hangar login %s` to pin it, set HANGAR_TLS_FINGERPRINT, "+
				"or give the CA that signed it with --ca-file / HANGAR_CA_FILE.", g.URL, verr, got, whereToCompare, g.URL)}
		}
		if got != pin {
			return &TrustError{fmt.Sprintf("the TLS certificate of %s changed: pinned SHA-256 %s, presented %s. "+
				"This is either a new certificate on the gateway or someone intercepting the connection: nothing was sent. "+
				"Compare the new fingerprint with %s; if they match, log in again with "+
				"`hangar login %s --fingerprint %s` (in VS Code: log out of the gateway, then connect again).",
				g.URL, pin, got, whereToCompare, g.URL, got)}
		}
		return nil
	}
	return cfg, nil
}
