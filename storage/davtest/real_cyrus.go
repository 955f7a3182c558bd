package davtest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Cyrus IMAP 3.6 with its CalDAV and CardDAV modules (Debian packages cyrus-imapd,
// cyrus-caldav, sasl2-bin), run privately: its own imapd.conf, cyrus.conf, SASL
// database, mail spool and sockets in a temporary directory, IMAP and HTTP on free
// 127.0.0.1 ports (test-servers.md §7). No system service or file is touched.

const cyrusLibexec = "/usr/lib/cyrus/bin"

// cyrusInstance is the Cyrus server shared by the tests of one binary.
type cyrusInstance struct {
	dir                string
	imapPort, httpPort int
	adminPassword      string
	cred               *syscall.Credential // the cyrus user when running as root
	saslpasswd         string
	master             *process
	client             *http.Client
	userMu             sync.Mutex // serialises newUser
}

var cyrusShared instance[cyrusInstance]

// StartCyrus returns a Cyrus server with a new user of its own: empty except for the
// "Default" calendar and address book Cyrus creates for every user, calendars under
// /dav/calendars/user/<user>/ and address books under /dav/addressbooks/user/<user>/.
// One Cyrus instance serves every test of the binary (see RunShared); a missing
// package fails the test naming it.
func StartCyrus(t testing.TB) *RealServer {
	t.Helper()
	in := cyrusShared.get(t, "cyrus", startCyrus)
	user, password, err := in.newUser()
	if err != nil {
		t.Fatalf("cyrus: %v", err)
	}
	srv := &RealServer{
		Name:            "cyrus",
		URL:             fmt.Sprintf("http://127.0.0.1:%d/", in.httpPort),
		Username:        user,
		Password:        password,
		Dir:             in.dir,
		CalendarHome:    "/dav/calendars/user/" + user + "/",
		AddressBookHome: "/dav/addressbooks/user/" + user + "/",
		client:          in.client,
	}
	t.Cleanup(func() {
		if t.Failed() {
			// Cyrus logs to syslog; the per-user protocol log (config/log/<user>) is
			// the record of what the server saw.
			t.Logf("cyrus protocol log of %s (tail):\n%s", user, in.protocolLog(user, 3<<10))
		}
	})
	// The first authenticated request creates the user's DAV homes. It is repeated
	// while Cyrus still refuses the new user's password: one make test saw a 401 for a
	// user whose SASL entry had just been written (a reader of sasldb2 that had not
	// seen it yet). The limit is only a safety net.
	var code int
	var body []byte
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		code, _, body = srv.Do(t, "PROPFIND", srv.CalendarHome, map[string]string{"Depth": "0", "Content-Type": "application/xml"}, []byte(propfindPrincipal))
		if code != http.StatusUnauthorized || time.Now().After(deadline) {
			break
		}
	}
	if code != http.StatusMultiStatus {
		t.Fatalf("cyrus: PROPFIND %s for the new user %s: HTTP %d: %s", srv.CalendarHome, user, code, body)
	}
	return srv
}

const propfindPrincipal = `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>`

func startCyrus() (_ *cyrusInstance, err error) {
	master, err := findBinary("master", "cyrus-imapd", cyrusLibexec)
	if err != nil {
		return nil, err
	}
	if _, err := findBinary("httpd", "cyrus-caldav", cyrusLibexec); err != nil {
		return nil, err
	}
	saslpasswd, err := findBinary("saslpasswd2", "sasl2-bin", "/usr/sbin")
	if err != nil {
		return nil, err
	}
	cred, err := serviceUser("cyrus", "cyrus-common")
	if err != nil {
		return nil, err
	}
	dir, err := newInstanceDir("davtest-cyrus-")
	if err != nil {
		return nil, err
	}
	in := &cyrusInstance{dir: dir, cred: cred, saslpasswd: saslpasswd, adminPassword: randomName("pw-"),
		client: &http.Client{Timeout: 60 * time.Second}}
	defer func() {
		if err != nil {
			in.stop()
		}
	}()
	for _, d := range []string{"config/log", "spool", "run/lock", "run/proc", "run/socket", "sieve"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if in.imapPort, err = freePortErr(); err != nil {
		return nil, err
	}
	if in.httpPort, err = freePortErr(); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "imapd.conf")
	imapd := strings.ReplaceAll(`configdirectory: $T/config
partition-default: $T/spool
defaultpartition: default
proc_path: $T/run/proc
mboxname_lockpath: $T/run/lock
lmtpsocket: $T/run/socket/lmtp
idlesocket: $T/run/socket/idle
notifysocket: $T/run/socket/notify
sievedir: $T/sieve
admins: admin
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $T/sasldb2
sasl_mech_list: PLAIN LOGIN
httpmodules: caldav carddav
httpallowcompress: no
caldav_realm: test
autocreate_quota: 0
`, "$T", dir)
	if err := os.WriteFile(conf, []byte(imapd), 0o644); err != nil {
		return nil, err
	}
	cyrusConf := fmt.Sprintf(`START {
  recover cmd="ctl_cyrusdb -C %[1]s -r"
}
SERVICES {
  imap cmd="imapd -C %[1]s" listen="127.0.0.1:%[2]d" prefork=0
  http cmd="httpd -C %[1]s" listen="127.0.0.1:%[3]d" prefork=0
}
EVENTS {
}
`, conf, in.imapPort, in.httpPort)
	if err := os.WriteFile(filepath.Join(dir, "cyrus.conf"), []byte(cyrusConf), 0o644); err != nil {
		return nil, err
	}
	if err := chownTree(dir, cred); err != nil {
		return nil, err
	}
	if err := in.saslUser("admin", in.adminPassword); err != nil {
		return nil, err
	}
	// In the foreground (no -d), as the cyrus user from the start: a master that
	// switched users itself would lose its parent-death signal (SIGTERM, on which it
	// stops its services too).
	in.master, err = spawn("cyrus", filepath.Join(dir, "master.log"), cred, nil, syscall.SIGTERM, master,
		"-C", conf, "-M", filepath.Join(dir, "cyrus.conf"), "-p", filepath.Join(dir, "master.pid"), "-D")
	if err != nil {
		return nil, err
	}
	err = poll(in.master, 60*time.Second, "IMAP login as admin", func() bool {
		return in.imap("NOOP") == nil
	})
	if err != nil {
		return nil, err
	}
	err = poll(in.master, 60*time.Second, "HTTP", func() bool {
		resp, err := in.client.Get(fmt.Sprintf("http://127.0.0.1:%d/", in.httpPort))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	if err != nil {
		return nil, err
	}
	onStopShared(in.stop)
	return in, nil
}

func (in *cyrusInstance) stop() {
	if in.master != nil {
		in.master.stop(syscall.SIGTERM, 10*time.Second) // master stops its services
	}
	os.RemoveAll(in.dir)
}

// saslUser adds or updates a user in the private SASL database.
func (in *cyrusInstance) saslUser(user, password string) error {
	cmd := fmt.Sprintf("printf '%%s' '%s' | %s -p -f %s -c %s", password, in.saslpasswd, filepath.Join(in.dir, "sasldb2"), user)
	_, err := run(in.cred, nil, "/bin/sh", "-c", cmd)
	return err
}

// newUser creates a SASL user and its mailbox (user/<name>); Cyrus creates the DAV
// homes on the user's first request.
func (in *cyrusInstance) newUser() (string, string, error) {
	// One writer of sasldb2 and of the mailbox list at a time: the sub-tests of a
	// suite create their users in parallel.
	in.userMu.Lock()
	defer in.userMu.Unlock()
	user, password := randomName("u"), randomName("pw-")
	if err := in.saslUser(user, password); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Join(in.dir, "config", "log", user), 0o755); err != nil {
		return "", "", err
	}
	if err := chownTree(filepath.Join(in.dir, "config", "log", user), in.cred); err != nil {
		return "", "", err
	}
	// With Cyrus 3's default unixhierarchysep the user's INBOX is "user/<name>"
	// ("user.<name>" would be an ordinary top-level mailbox, and the DAV homes of
	// such a user answer 500).
	if err := in.imap("CREATE user/" + user); err != nil {
		return "", "", fmt.Errorf("creating the mailbox of %s: %w", user, err)
	}
	return user, password, nil
}

// imap logs in as admin, runs one command and logs out.
func (in *cyrusInstance) imap(command string) error {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", in.imapPort), 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("IMAP greeting %q: %v", line, err)
	}
	for i, c := range []string{`LOGIN admin "` + in.adminPassword + `"`, command, "LOGOUT"} {
		tag := fmt.Sprintf("t%d", i)
		if _, err := fmt.Fprintf(conn, "%s %s\r\n", tag, c); err != nil {
			return err
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("IMAP %s: %w", c, err)
			}
			if strings.HasPrefix(line, tag+" ") {
				if !strings.HasPrefix(line, tag+" OK") {
					return fmt.Errorf("IMAP %s: %s", strings.Fields(c)[0], strings.TrimSpace(line))
				}
				break
			}
		}
	}
	return nil
}

// protocolLog returns the tail of the protocol logs Cyrus wrote for user.
func (in *cyrusInstance) protocolLog(user string, n int64) string {
	files, _ := filepath.Glob(filepath.Join(in.dir, "config", "log", user, "*"))
	var b strings.Builder
	for _, f := range files {
		b.WriteString("== " + filepath.Base(f) + "\n" + fileTail(f, n/int64(len(files))) + "\n")
	}
	return b.String()
}
