// Command floor measures the physical floors that bench/vdir.sh compares pimsync with,
// on the same files in the same run:
//
//	floor stat DIR...        list every directory and stat every file in it (what a
//	                         no-op sync must do at least; like find -printf '%T@ %s %i')
//	floor copy [-w N] SRC DST  copy every file of SRC into the new directory DST
//	                         durably: read it, write it to an unnamed file, fsync,
//	                         link it into place, and fsync DST at the end, with N
//	                         files in flight (what a first sync must do at least)
//	floor put [-raw] URL DIR PUT every file of DIR into the collection URL (user
//	                         and password in the URL) with Go's net/http client, 4
//	                         requests in flight and 4 kept-alive connections, as
//	                         pimsync sends them, If-None-Match: * (what a first
//	                         sync's uploads cost a net/http client at least). With
//	                         -raw: one request at a time on one connection, written
//	                         and read by one goroutine with no http.Transport (what
//	                         the same uploads cost any Go client at least)
//
// It prints the wall time and the CPU time (user + system) it used, in seconds.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	start := time.Now()
	var r0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	var err error
	switch os.Args[1] {
	case "stat":
		err = statAll(os.Args[2:])
	case "put":
		fl := flag.NewFlagSet("put", flag.ExitOnError)
		raw := fl.Bool("raw", false, "one goroutine, one connection, no http.Transport")
		fl.Parse(os.Args[2:])
		if fl.NArg() != 2 {
			usage()
		}
		if *raw {
			err = putRaw(fl.Arg(0), fl.Arg(1))
		} else {
			err = putAll(fl.Arg(0), fl.Arg(1))
		}
	case "copy":
		fl := flag.NewFlagSet("copy", flag.ExitOnError)
		w := fl.Int("w", 32, "files in flight")
		fl.Parse(os.Args[2:])
		if fl.NArg() != 2 {
			usage()
		}
		err = copyDurably(fl.Arg(0), fl.Arg(1), *w)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	var r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
	fmt.Printf("%.3f %.3f\n", time.Since(start).Seconds(), cpu.Seconds())
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: floor stat DIR... | floor copy [-w N] SRC DST | floor put [-raw] URL DIR")
	os.Exit(2)
}

// statAll lists each directory tree and stats every regular file, as find does.
func statAll(dirs []string) error {
	n := 0
	for _, root := range dirs {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				if _, err := d.Info(); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if n == 0 {
		return fmt.Errorf("no files under %v", dirs)
	}
	return nil
}

// copyDurably copies the files of src into the new directory dst, each one fsynced
// before it is linked into place, then fsyncs dst.
func copyDurably(src, dst string, workers int) error {
	names, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	dfd, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Value
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) {
					return
				}
				if err := copyOne(filepath.Join(src, names[i].Name()), dfd, names[i].Name()); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return unix.Fsync(dfd)
}

func copyOne(src string, dfd int, name string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	fd, err := unix.Openat(dfd, ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, data); err != nil {
		return err
	}
	if err := unix.Fsync(fd); err != nil {
		return err
	}
	return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dfd, name, unix.AT_SYMLINK_FOLLOW)
}

// putRequest is the PUT of one file, as both put floors send it.
func putRequest(u *url.URL, user *url.Userinfo, name string, data []byte) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPut, u.JoinPath(name).String(), bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if user != nil {
		pw, _ := user.Password()
		req.SetBasicAuth(user.Username(), pw)
	}
	req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	req.Header.Set("If-None-Match", "*")
	return req, nil
}

// putTarget splits base into the collection's URL and its credentials, and lists dir.
func putTarget(base, dir string) (*url.URL, *url.Userinfo, []os.DirEntry, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, nil, nil, err
	}
	user := u.User
	u.User = nil
	names, err := os.ReadDir(dir)
	return u, user, names, err
}

// putRaw uploads every file of dir into the collection at base one after the other,
// on one connection (a new one only when the server closes it), with no goroutine
// but main's: the least system calls and thread wake-ups a Go program can spend on
// these requests.
func putRaw(base, dir string) error {
	u, user, names, err := putTarget(base, dir)
	if err != nil {
		return err
	}
	var conn net.Conn
	var r *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n.Name()))
		if err != nil {
			return err
		}
		req, err := putRequest(u, user, n.Name(), data)
		if err != nil {
			return err
		}
		if conn == nil {
			if conn, err = net.Dial("tcp", u.Host); err != nil {
				return err
			}
			r = bufio.NewReader(conn)
		}
		w := bufio.NewWriter(conn)
		if err := req.Write(w); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		resp, err := http.ReadResponse(r, req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("PUT %s: %s", n.Name(), resp.Status)
		}
		if resp.Close {
			conn.Close()
			conn = nil
		}
	}
	return nil
}

// putAll uploads every file of dir into the collection at base, 4 at a time.
func putAll(base, dir string) error {
	u, user, names, err := putTarget(base, dir)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	var first atomic.Value
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n.Name()))
		if err != nil {
			return err
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			req, err := putRequest(u, user, n.Name(), data)
			if err != nil {
				first.CompareAndSwap(nil, err)
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				first.CompareAndSwap(nil, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				first.CompareAndSwap(nil, fmt.Errorf("PUT %s: %s", n.Name(), resp.Status))
			}
		})
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}
