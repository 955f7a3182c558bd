package dav_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

func tlsServer(t *testing.T, cfg *tls.Config) *davtest.Server {
	t.Helper()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	return davtest.NewServer(t, davtest.Options{TLS: cfg})
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// colonFingerprint is the fingerprint as error messages spell it.
func colonFingerprint(c *x509.Certificate) string {
	h := strings.ToUpper(fingerprint(c))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func TestTLSUntrusted(t *testing.T) {
	srv := tlsServer(t, nil)
	s := newDAV(t, storage.Calendars, dav.Options{Name: "tls", URL: srv.URL + "/"})
	err := s.Check(t.Context())
	if err == nil {
		t.Fatal("Check trusted an unknown certificate")
	}
	wantContains(t, "untrusted", err.Error(), srv.URL, colonFingerprint(srv.Certificate()), "tls_root", "tls_fingerprint")
	if storage.IsTemporary(err) {
		t.Fatal("a certificate failure is marked temporary")
	}
}

func TestTLSFingerprint(t *testing.T) {
	srv := tlsServer(t, nil)
	// Colons and upper case are accepted.
	fp := colonFingerprint(srv.Certificate())
	s := newDAV(t, storage.Calendars, dav.Options{URL: srv.URL + "/", TLSFingerprint: fp})
	if err := s.Check(t.Context()); err != nil {
		t.Fatalf("Check with the right fingerprint: %v", err)
	}
	wrong := strings.Repeat("ab", 32)
	s = newDAV(t, storage.Calendars, dav.Options{Name: "pin", URL: srv.URL + "/", TLSFingerprint: wrong})
	err := s.Check(t.Context())
	if err == nil {
		t.Fatal("Check accepted a wrong fingerprint")
	}
	wantContains(t, "wrong fingerprint", err.Error(), srv.URL, colonFingerprint(srv.Certificate()), "tls_fingerprint")
}

func TestTLSRoot(t *testing.T) {
	srv := tlsServer(t, nil)
	root := filepath.Join(t.TempDir(), "root.pem")
	writePEM(t, root, "CERTIFICATE", srv.Certificate().Raw)
	s := newDAV(t, storage.Calendars, dav.Options{URL: srv.URL + "/", TLSRoot: root})
	if err := s.Check(t.Context()); err != nil {
		t.Fatalf("Check with tls_root: %v", err)
	}
	// tls_root and a wrong fingerprint: both must pass.
	s = newDAV(t, storage.Calendars, dav.Options{URL: srv.URL + "/", TLSRoot: root, TLSFingerprint: strings.Repeat("00", 32)})
	if err := s.Check(t.Context()); err == nil {
		t.Fatal("tls_root with a wrong fingerprint passed")
	}
	// tls_root replaces the system roots: another root does not verify the server.
	other := filepath.Join(t.TempDir(), "other.pem")
	ca, _ := newCA(t)
	writePEM(t, other, "CERTIFICATE", ca.Raw)
	s = newDAV(t, storage.Calendars, dav.Options{URL: srv.URL + "/", TLSRoot: other})
	if err := s.Check(t.Context()); err == nil {
		t.Fatal("a foreign tls_root verified the server")
	}
	if _, err := dav.New(dav.Options{Kind: storage.Calendars, URL: srv.URL, TLSRoot: filepath.Join(t.TempDir(), "missing.pem")}); err == nil {
		t.Fatal("New accepted a missing tls_root file")
	}
}

func TestTLSClientCertificate(t *testing.T) {
	ca, caKey := newCA(t)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := tlsServer(t, &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
	fp := fingerprint(srv.Certificate())
	dir := t.TempDir()
	noSleep := func(context.Context, time.Duration) error { return nil }

	s := newDAV(t, storage.Calendars, dav.Options{URL: srv.URL + "/", TLSFingerprint: fp, Sleep: noSleep})
	if err := s.Check(t.Context()); err == nil {
		t.Fatal("Check without a client certificate passed")
	}

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecCert := newLeaf(t, ca, caKey, &ecKey.PublicKey)
	sec1, _ := x509.MarshalECPrivateKey(ecKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaCert := newLeaf(t, ca, caKey, &rsaKey.PublicKey)

	combined := filepath.Join(dir, "combined.pem")
	writePEM(t, combined, "CERTIFICATE", ecCert)
	writePEM(t, combined, "EC PRIVATE KEY", sec1)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", ecCert)
	writePEM(t, keyFile, "PRIVATE KEY", pkcs8)
	rsaCertFile, rsaKeyFile := filepath.Join(dir, "rsa.pem"), filepath.Join(dir, "rsa.key")
	writePEM(t, rsaCertFile, "CERTIFICATE", rsaCert)
	writePEM(t, rsaKeyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))

	for name, files := range map[string][2]string{
		"combined SEC1": {combined, ""}, "separate PKCS#8": {certFile, keyFile}, "separate PKCS#1": {rsaCertFile, rsaKeyFile},
	} {
		s := newDAV(t, storage.Calendars, dav.Options{URL: srv.URL + "/", TLSFingerprint: fp, AuthCert: files[0], AuthKey: files[1]})
		if err := s.Check(t.Context()); err != nil {
			t.Fatalf("%s: Check: %v", name, err)
		}
	}
	twoKeys := filepath.Join(dir, "two.pem")
	writePEM(t, twoKeys, "CERTIFICATE", ecCert)
	writePEM(t, twoKeys, "EC PRIVATE KEY", sec1)
	writePEM(t, twoKeys, "PRIVATE KEY", pkcs8)
	if _, err := dav.New(dav.Options{Kind: storage.Calendars, URL: srv.URL, AuthCert: twoKeys}); err == nil ||
		!strings.Contains(err.Error(), "more than one private key") {
		t.Fatalf("New with two keys: %v", err)
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func newLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, pub any) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// writePEM appends one PEM block to file.
func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pem.Encode(f, &pem.Block{Type: typ, Bytes: der}); err != nil {
		t.Fatal(err)
	}
}
