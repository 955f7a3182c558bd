package dav

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// newTransport builds the bottom of a storage's HTTP stack: TLS settings, Unix-socket
// dialing, proxy from the environment (never for sockets), the connect and TLS
// handshake timeouts and the wait for the answer's headers. Compressed answers are
// decompressed here; the size caps above count the decompressed bytes.
func newTransport(o *Options, socket string, to Timeouts) (*http.Transport, error) {
	dialer := &net.Dialer{Timeout: to.Connect, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   maxInFlight,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   to.Connect,
		ResponseHeaderTimeout: to.Read,
		ExpectContinueTimeout: time.Second,
	}
	if socket != "" {
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		}
		return t, nil
	}
	t.Proxy = http.ProxyFromEnvironment
	t.DialContext = dialer.DialContext
	cfg, err := tlsConfig(o)
	if err != nil {
		return nil, err
	}
	t.TLSClientConfig = cfg
	return t, nil
}

// tlsConfig applies tls_root, tls_fingerprint and auth_cert (config.md §5.4).
func tlsConfig(o *Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSRoot != "" {
		pool, err := loadRoots(o.TLSRoot)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if fp := normFingerprint(o.TLSFingerprint); fp != "" {
		want, err := hex.DecodeString(fp)
		if err != nil || len(want) != sha256.Size {
			return nil, errors.New("tls_fingerprint must be a SHA-256 fingerprint: 64 hex digits")
		}
		// Alone, the fingerprint replaces chain and name checks; with tls_root both
		// must pass (VerifyPeerCertificate runs after the normal verification).
		cfg.InsecureSkipVerify = o.TLSRoot == ""
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("server presented no certificate")
			}
			got := sha256.Sum256(raw[0])
			if string(got[:]) != string(want) {
				return &fingerprintError{got: got[:], want: want}
			}
			return nil
		}
	}
	if o.AuthCert != "" {
		cert, err := loadClientCert(o.AuthCert, o.AuthKey)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func loadRoots(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls_root: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("tls_root: %s holds no PEM certificate", file)
	}
	return pool, nil
}

// loadClientCert reads auth_cert: one combined PEM file, or a certificate file and a key
// file. tls.X509KeyPair accepts PKCS#1, PKCS#8 and SEC1 keys.
func loadClientCert(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("auth_cert: %w", err)
	}
	keyPEM := certPEM
	if keyFile != "" {
		if keyPEM, err = os.ReadFile(keyFile); err != nil {
			return tls.Certificate{}, fmt.Errorf("auth_cert: %w", err)
		}
	}
	if n := countKeys(keyPEM); n == 0 {
		return tls.Certificate{}, errors.New("auth_cert: no private key found")
	} else if n > 1 {
		return tls.Certificate{}, errors.New("auth_cert: more than one private key found")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("auth_cert: %w", err)
	}
	return cert, nil
}

func countKeys(data []byte) int {
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return n
		}
		if b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY") {
			n++
		}
	}
}

// fingerprintError is a tls_fingerprint mismatch.
type fingerprintError struct{ got, want []byte }

func (e *fingerprintError) Error() string {
	return fmt.Sprintf("certificate fingerprint %s does not match tls_fingerprint %s",
		formatFingerprint(e.got), formatFingerprint(e.want))
}

// formatFingerprint writes a SHA-256 digest as upper-case hex pairs joined by colons.
func formatFingerprint(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// tlsHint explains a TLS failure: which certificate the server presented and how to
// trust it. ok is false for errors that are not certificate failures.
func tlsHint(err error) (string, bool) {
	var fe *fingerprintError
	if errors.As(err, &fe) {
		return "the server presented a certificate with SHA-256 fingerprint " + formatFingerprint(fe.got) +
			"; if you trust it, update tls_fingerprint", true
	}
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) {
		hint := "set tls_root to the CA certificate that signed the server's certificate, or pin it with tls_fingerprint"
		if len(ve.UnverifiedCertificates) > 0 {
			sum := sha256.Sum256(ve.UnverifiedCertificates[0].Raw)
			hint = "the server presented a certificate with SHA-256 fingerprint " + formatFingerprint(sum[:]) + "; " + hint
		}
		return hint, true
	}
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	if errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ie) {
		return "set tls_root to the CA certificate that signed the server's certificate, or pin it with tls_fingerprint", true
	}
	return "", false
}
