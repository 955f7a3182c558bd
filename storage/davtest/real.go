package davtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RealServer is a real DAV server process (Radicale or Xandikos) running on loopback
// for one test.
type RealServer struct {
	Name string // "radicale" or "xandikos"
	// URL is the base URL with trailing slash ("http://localhost/" for a socket).
	URL string
	// Socket is the Unix socket path when the server listens on one.
	Socket             string
	Username, Password string // credentials to use ("" for Xandikos)
	Dir                string // the server's data directory
	// CalendarHome and AddressBookHome are the home-set paths where NewCalendar and
	// NewAddressBook create collections.
	CalendarHome, AddressBookHome string

	client *http.Client
}

// RadicaleOptions configure StartRadicale.
type RadicaleOptions struct {
	// Auth enables htpasswd authentication with a bcrypt password. Without it any
	// password is accepted, but a username is still required.
	Auth bool
}

// lookPath finds a server binary or fails the test naming the Debian package.
func lookPath(t testing.TB, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s not found in PATH: install the Debian package %s (apt-get install %s)", bin, pkg, pkg)
	}
	return p
}

// StartRadicale runs Radicale 3 with a fresh data directory on a free 127.0.0.1 port.
// The server is stopped when the test ends.
func StartRadicale(t testing.TB, opts RadicaleOptions) *RealServer {
	t.Helper()
	bin := lookPath(t, "radicale", "radicale")
	dir := t.TempDir()
	port := freePort(t)
	srv := &RealServer{
		Name:     "radicale",
		URL:      fmt.Sprintf("http://127.0.0.1:%d/", port),
		Username: "alice",
		Password: "x",
		Dir:      dir,
		client:   &http.Client{Timeout: 30 * time.Second},
	}
	srv.CalendarHome = "/" + srv.Username + "/"
	srv.AddressBookHome = srv.CalendarHome
	auth := "[auth]\ntype = none\n"
	if opts.Auth {
		htpasswd := lookPath(t, "htpasswd", "apache2-utils")
		srv.Password = randomName("pw-")
		users := filepath.Join(dir, "users")
		out, err := exec.Command(htpasswd, "-B", "-C", "4", "-b", "-c", users, srv.Username, srv.Password).CombinedOutput()
		if err != nil {
			t.Fatalf("htpasswd: %v: %s", err, out)
		}
		auth = fmt.Sprintf("[auth]\ntype = htpasswd\nhtpasswd_filename = %s\nhtpasswd_encryption = bcrypt\n", users)
	}
	conf := fmt.Sprintf("[server]\nhosts = 127.0.0.1:%d\n%s[rights]\ntype = owner_only\n"+
		"[storage]\nfilesystem_folder = %s\n[logging]\nlevel = warning\n[web]\ntype = none\n",
		port, auth, filepath.Join(dir, "collections"))
	confFile := filepath.Join(dir, "radicale.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, srv, bin, "--config", confFile)
	return srv
}

// StartXandikos runs Xandikos with --defaults (principal /user/, calendars under
// /user/calendars/, address books under /user/contacts/) on a free 127.0.0.1 port.
func StartXandikos(t testing.TB) *RealServer {
	t.Helper()
	port := freePort(t)
	return startXandikos(t, "127.0.0.1", fmt.Sprint(port), fmt.Sprintf("http://127.0.0.1:%d/", port), "")
}

// StartXandikosSocket runs Xandikos listening on a Unix socket in a temporary
// directory.
func StartXandikosSocket(t testing.TB) *RealServer {
	t.Helper()
	sock := filepath.Join(shortTempDir(t), "x.sock")
	return startXandikos(t, sock, "0", "http://localhost/", sock)
}

func startXandikos(t testing.TB, listen, port, base, socket string) *RealServer {
	bin := lookPath(t, "xandikos", "xandikos")
	dir := t.TempDir()
	srv := &RealServer{
		Name:            "xandikos",
		URL:             base,
		Socket:          socket,
		Dir:             dir,
		CalendarHome:    "/user/calendars/",
		AddressBookHome: "/user/contacts/",
		client:          &http.Client{Timeout: 30 * time.Second},
	}
	if socket != "" {
		srv.client.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}}
	}
	startProcess(t, srv, bin, "-d", filepath.Join(dir, "data"), "-l", listen, "-p", port, "--defaults")
	return srv
}

// shortTempDir returns a temporary directory with a short path (Unix socket paths are
// limited to about 100 bytes).
func shortTempDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "dav")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// startProcess starts the server, waits until it answers and arranges for it to be
// stopped (SIGTERM to its PID) and for its log to be shown if the test fails.
func startProcess(t testing.TB, srv *RealServer, bin string, args ...string) {
	t.Helper()
	p, err := spawn(srv.Name, filepath.Join(srv.Dir, srv.Name+".log"), nil, nil, syscall.SIGTERM, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM, 10*time.Second)
		if t.Failed() {
			if log := p.logTail(64 << 10); log != "" {
				t.Logf("%s log:\n%s", srv.Name, log)
			}
		}
	})
	err = poll(p, 20*time.Second, "PROPFIND at "+srv.URL, func() bool {
		req, _ := http.NewRequest("PROPFIND", srv.URL, strings.NewReader(propfindPrincipal))
		req.Header.Set("Depth", "0")
		req.Header.Set("Content-Type", "application/xml")
		srv.auth(req)
		resp, err := srv.client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusMultiStatus
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *RealServer) auth(req *http.Request) {
	if s.Username != "" {
		req.SetBasicAuth(s.Username, s.Password)
	}
}

// Do sends a raw request with the server's credentials and returns status and body.
func (s *RealServer) Do(t testing.TB, method, path string, header map[string]string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.URL, "/")+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	s.auth(req)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, buf.Bytes()
}

// NewCalendar creates a uniquely named calendar in CalendarHome and returns its path.
func (s *RealServer) NewCalendar(t testing.TB) string {
	t.Helper()
	p := s.CalendarHome + randomName("test-") + "/"
	if code, _, body := s.Do(t, "MKCALENDAR", p, nil, nil); code != http.StatusCreated {
		t.Fatalf("%s: MKCALENDAR %s: HTTP %d: %s", s.Name, p, code, body)
	}
	return p
}

// NewAddressBook creates a uniquely named address book in AddressBookHome and returns
// its path.
func (s *RealServer) NewAddressBook(t testing.TB) string {
	t.Helper()
	p := s.AddressBookHome + randomName("test-") + "/"
	body := `<?xml version="1.0" encoding="utf-8"?><d:mkcol xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav">` +
		`<d:set><d:prop><d:resourcetype><d:collection/><cr:addressbook/></d:resourcetype></d:prop></d:set></d:mkcol>`
	if code, _, resp := s.Do(t, "MKCOL", p, map[string]string{"Content-Type": "application/xml; charset=utf-8"}, []byte(body)); code != http.StatusCreated {
		t.Fatalf("%s: MKCOL %s: HTTP %d: %s", s.Name, p, code, resp)
	}
	return p
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freePortErr()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func freePortErr() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// randomName returns prefix + 12 random hex digits.
func randomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
