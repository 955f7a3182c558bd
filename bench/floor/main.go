// Command floor measures the physical floors that bench/vdir.sh compares pimsync with,
// on the same files in the same run:
//
//	floor stat DIR...        list every directory and stat every file in it (what a
//	                         no-op sync must do at least; like find -printf '%T@ %s %i')
//	floor copy [-w N] SRC DST  copy every file of SRC into the new directory DST
//	                         durably: read it, write it to an unnamed file, fsync,
//	                         link it into place, and fsync DST at the end, with N
//	                         files in flight (what a first sync must do at least)
//	floor put URL DIR        PUT every file of DIR into the collection URL (user
//	                         and password in the URL) with Go's net/http client, 4
//	                         requests in flight, If-None-Match: * (what a first
//	                         sync's uploads cost a Go client at least)
//
// It prints the wall time and the CPU time (user + system) it used, in seconds.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
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
		if len(os.Args) != 4 {
			usage()
		}
		err = putAll(os.Args[2], os.Args[3])
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
	fmt.Fprintln(os.Stderr, "usage: floor stat DIR... | floor copy [-w N] SRC DST | floor put URL DIR")
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

// putAll uploads every file of dir into the collection at base, 4 at a time.
func putAll(base, dir string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	user := u.User
	u.User = nil
	names, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
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
			req, err := http.NewRequest(http.MethodPut, u.JoinPath(n.Name()).String(), bytes.NewReader(data))
			if err != nil {
				first.CompareAndSwap(nil, err)
				return
			}
			if user != nil {
				pw, _ := user.Password()
				req.SetBasicAuth(user.Username(), pw)
			}
			req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
			req.Header.Set("If-None-Match", "*")
			resp, err := http.DefaultClient.Do(req)
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
