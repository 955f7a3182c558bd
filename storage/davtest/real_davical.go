package davtest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DAViCal 1.1 (Debian packages davical, postgresql, apache2, libapache2-mod-php) run
// privately (test-servers.md §8): a PostgreSQL cluster listening only on a Unix socket
// in a temporary directory, and an Apache with its own configuration on a free
// 127.0.0.1 port. The system services are not touched.
//
// DAViCal reads its configuration from /etc/davical/<server name>-conf.php. The harness
// writes one such file per instance, /etc/davical/pimsync-davtest-<pid>-<random>-conf.php,
// gives Apache that server name (UseCanonicalName On, so the client's Host header does
// not matter), and removes the file when the instance stops; files of earlier test
// binaries that died without cleaning up are removed at the next start. The file
// points DAViCal at the private database and makes the URLs it builds (Location,
// .well-known redirects) use the host and port the client asked for, so the server
// also works behind FaultProxy. When /etc/davical is not writable (not root), no file
// is written: DAViCal then uses the packaged /etc/davical/config.php, whose database
// connection takes host and port from PGHOST/PGPORT in Apache's environment.

const davicalConfDir = "/etc/davical"

type davicalInstance struct {
	dir       string
	port      int
	pgSock    string
	psql      string
	confFile  string // our file in /etc/davical, "" if none was written
	pg, httpd *process
	client    *http.Client
}

var davicalShared instance[davicalInstance]

// StartDAViCal returns a DAViCal server with a new user of its own, whose principal
// /caldav.php/<user>/ is also the home of its calendars and address books (empty: the
// harness creates users directly in the database, without DAViCal's default
// collections). One DAViCal instance serves every test of the binary (see RunShared).
func StartDAViCal(t testing.TB) *RealServer {
	t.Helper()
	in := davicalShared.get(t, "davical", startDAViCal)
	user, password := randomName("u"), randomName("pw-")
	if err := in.newUser(user, password); err != nil {
		t.Fatalf("davical: %v", err)
	}
	home := "/caldav.php/" + user + "/"
	srv := &RealServer{
		Name:            "davical",
		URL:             fmt.Sprintf("http://127.0.0.1:%d/", in.port),
		Username:        user,
		Password:        password,
		Dir:             in.dir,
		CalendarHome:    home,
		AddressBookHome: home,
		client:          in.client,
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("davical: Apache error log (tail):\n%s", fileTail(filepath.Join(in.dir, "apache-error.log"), 8<<10))
		}
	})
	return srv
}

func startDAViCal() (_ *davicalInstance, err error) {
	pgBin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	psql, err := findBinary("psql", "postgresql-client")
	if err != nil {
		return nil, err
	}
	pgIsReady, err := findBinary("pg_isready", "postgresql-client", pgBin)
	if err != nil {
		return nil, err
	}
	apache, err := findBinary("apache2", "apache2", "/usr/sbin")
	if err != nil {
		return nil, err
	}
	phpMods, _ := filepath.Glob("/usr/lib/apache2/modules/libphp*.so")
	if len(phpMods) == 0 {
		return nil, errors.New("the Apache PHP module (/usr/lib/apache2/modules/libphp*.so) is missing: install the Debian package libapache2-mod-php")
	}
	sort.Strings(phpMods)
	createDB := "/usr/share/davical/dba/create-database.sh"
	for _, f := range []string{createDB, "/usr/share/davical/htdocs/caldav.php"} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%s is missing: install the Debian package davical", f)
		}
	}
	pgCred, err := serviceUser("postgres", "postgresql")
	if err != nil {
		return nil, err
	}
	dir, err := newInstanceDir("davtest-davical-")
	if err != nil {
		return nil, err
	}
	in := &davicalInstance{dir: dir, psql: psql, pgSock: filepath.Join(dir, "pgsock"),
		client: &http.Client{Timeout: 60 * time.Second}}
	defer func() {
		if err != nil {
			in.stop()
		}
	}()
	for _, d := range []string{"pg", "pgsock", "run"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"pg", "pgsock"} {
		if err := chownTree(filepath.Join(dir, d), pgCred); err != nil {
			return nil, err
		}
	}

	// 1. PostgreSQL, Unix socket only, durability off (throwaway data).
	if _, err := run(pgCred, nil, filepath.Join(pgBin, "initdb"), "-D", filepath.Join(dir, "pg"), "-A", "trust",
		"-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"); err != nil {
		return nil, err
	}
	in.pg, err = spawn("postgres", filepath.Join(dir, "postgres.log"), pgCred, nil, syscall.SIGINT, filepath.Join(pgBin, "postgres"),
		"-D", filepath.Join(dir, "pg"), "-p", "5432", "-k", in.pgSock, "-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	if err != nil {
		return nil, err
	}
	err = poll(in.pg, 60*time.Second, "PostgreSQL", func() bool {
		_, err := run(nil, nil, pgIsReady, "-q", "-h", in.pgSock, "-p", "5432", "-U", "postgres")
		return err == nil
	})
	if err != nil {
		return nil, err
	}

	// 2. The DAViCal database, with the scripts the package ships.
	pgEnv := []string{"PGHOST=" + in.pgSock, "PGPORT=5432", "PGUSER=postgres",
		"PSQLOPTS=-h " + in.pgSock + " -p 5432", "DBAOPTS=--dbhost " + in.pgSock + " --dbport 5432"}
	if _, err := run(pgCred, pgEnv, "/bin/sh", createDB, "davical", randomName("pw-")); err != nil {
		return nil, fmt.Errorf("creating the DAViCal database: %w", err)
	}

	// 3. The configuration file DAViCal selects by server name.
	if in.port, err = freePortErr(); err != nil {
		return nil, err
	}
	serverName := "127.0.0.1"
	canonical := "Off"
	if name, file, err := writeDAViCalConf(in.pgSock); err == nil {
		serverName, canonical, in.confFile = name, "On", file
	} else if !errors.Is(err, os.ErrPermission) {
		return nil, err
	}

	// 4. Apache with mod_php serving /usr/share/davical/htdocs.
	userGroup := ""
	if os.Geteuid() == 0 {
		userGroup = "User www-data\nGroup www-data\n"
	}
	conf := fmt.Sprintf(`ServerRoot /etc/apache2
Listen 127.0.0.1:%[2]d
ServerName %[3]s
UseCanonicalName %[4]s
PidFile %[1]s/run/apache.pid
DefaultRuntimeDir %[1]s/run
Mutex file:%[1]s/run default
ErrorLog %[1]s/apache-error.log
LogLevel warn
%[5]sLoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule php_module %[6]s
StartServers 2
MinSpareServers 2
MaxSpareServers 6
MaxRequestWorkers 16
TypesConfig /etc/mime.types
DocumentRoot /usr/share/davical/htdocs
DirectoryIndex index.php
<Directory /usr/share/davical/htdocs>
  AllowOverride None
  Require all granted
  AcceptPathInfo On
  php_value include_path /usr/share/awl/inc
  php_value default_charset "utf-8"
</Directory>
<FilesMatch "\.php$">
  SetHandler application/x-httpd-php
</FilesMatch>
RewriteEngine On
RewriteRule ^/\.well-known/(.*)$ /caldav.php/.well-known/$1 [NC,L]
RewriteRule ^/principals/users/(.*)$ /caldav.php/$1 [NC,L]
`, dir, in.port, serverName, canonical, userGroup, phpMods[len(phpMods)-1])
	confPath := filepath.Join(dir, "apache.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	in.httpd, err = spawn("apache2", filepath.Join(dir, "apache.log"), nil, []string{"PGHOST=" + in.pgSock, "PGPORT=5432"},
		syscall.SIGTERM, apache, "-f", confPath, "-DFOREGROUND")
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/caldav.php/", in.port)
	err = poll(in.httpd, 60*time.Second, "Apache", func() bool {
		resp, err := in.client.Get(base)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	if err == nil {
		err = in.check(base)
	}
	if err != nil {
		return nil, fmt.Errorf("%w\nApache error log:\n%s", err, fileTail(filepath.Join(dir, "apache-error.log"), 8<<10))
	}
	onStopShared(in.stop)
	return in, nil
}

func (in *davicalInstance) stop() {
	if in.httpd != nil {
		in.httpd.stop(syscall.SIGTERM, 10*time.Second)
	}
	if in.pg != nil {
		in.pg.stop(syscall.SIGINT, 10*time.Second) // fast shutdown
	}
	if in.confFile != "" {
		os.Remove(in.confFile)
	}
	os.RemoveAll(in.dir)
}

// check makes sure DAViCal reaches its database: a new user's PROPFIND answers 207.
func (in *davicalInstance) check(base string) error {
	user, password := randomName("probe"), randomName("pw-")
	if err := in.newUser(user, password); err != nil {
		return err
	}
	req, _ := http.NewRequest("PROPFIND", base+user+"/", strings.NewReader(propfindPrincipal))
	req.Header.Set("Depth", "0")
	req.Header.Set("Content-Type", "application/xml")
	req.SetBasicAuth(user, password)
	resp, err := in.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("DAViCal answers PROPFIND %s with HTTP %d: %s", req.URL.Path, resp.StatusCode, body)
	}
	return nil
}

// postgresBinDir returns the newest /usr/lib/postgresql/<version>/bin with initdb.
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		return "", errors.New("initdb not found in /usr/lib/postgresql/*/bin: install the Debian package postgresql")
	}
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) < pgVersion(dirs[j]) })
	return filepath.Dir(dirs[len(dirs)-1]), nil
}

func pgVersion(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// writeDAViCalConf writes the per-instance configuration file and returns the server
// name that selects it. It first removes files of harness runs whose process is gone.
func writeDAViCalConf(pgSock string) (name, file string, err error) {
	old, _ := filepath.Glob(filepath.Join(davicalConfDir, "pimsync-davtest-*-conf.php"))
	for _, f := range old {
		parts := strings.Split(filepath.Base(f), "-")
		if len(parts) < 4 {
			continue
		}
		if pid, err := strconv.Atoi(parts[2]); err == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
			os.Remove(f)
		}
	}
	name = fmt.Sprintf("pimsync-davtest-%d-%s", os.Getpid(), randomName(""))
	file = filepath.Join(davicalConfDir, name+"-conf.php")
	php := fmt.Sprintf(`<?php
// Written by the pimsync test harness (storage/davtest/real_davical.go) for one test
// binary; it removes this file when the binary ends.
$c->pg_connect[] = 'dbname=davical host=%s port=5432 user=davical_app';
// Apache's server name only selects this file: the URLs DAViCal builds use the host
// and port the client asked for (also through a proxy).
if (isset($_SERVER['HTTP_HOST']) && preg_match('/^([^:]+)(?::(\d+))?$/', $_SERVER['HTTP_HOST'], $m)) {
  $_SERVER['SERVER_NAME'] = $m[1];
  $c->domain_name = $m[1];
  $_SERVER['SERVER_PORT'] = isset($m[2]) ? $m[2] : '80';
}
`, pgSock)
	if err := os.WriteFile(file, []byte(php), 0o644); err != nil {
		return "", "", err
	}
	return name, file, nil
}

// newUser adds an active user and its principal to the database; password is stored
// in DAViCal's plain-text form ('**' prefix).
func (in *davicalInstance) newUser(user, password string) error {
	sql := fmt.Sprintf(`BEGIN;
INSERT INTO usr (active, email_ok, updated, username, password, fullname, email)
  VALUES (true, now(), now(), '%[1]s', '**%[2]s', 'Test user %[1]s', '%[1]s@example.com');
INSERT INTO principal (type_id, user_no, displayname, default_privileges)
  SELECT 1, user_no, fullname, 0::BIT(24) FROM usr WHERE username = '%[1]s';
COMMIT;`, user, password)
	_, err := run(nil, nil, in.psql, "-h", in.pgSock, "-p", "5432", "-U", "postgres", "-qXAt", "-v", "ON_ERROR_STOP=1", "-c", sql, "davical")
	if err != nil {
		return fmt.Errorf("creating user %s: %w", user, err)
	}
	return nil
}
