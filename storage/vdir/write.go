package vdir

import (
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Temporary files are ".pimsync-<random>.tmp" in the directory they are moved from, so
// that listing ignores them (they are hidden) and a crash leaves nothing visible.
const (
	tmpPrefix = ".pimsync-"
	tmpSuffix = ".tmp"
	// staleTmpAge is how old a leftover temporary file must be before List removes it.
	staleTmpAge = 24 * time.Hour
)

func isTmpName(name string) bool {
	return strings.HasPrefix(name, tmpPrefix) && strings.HasSuffix(name, tmpSuffix)
}

// writeTmp writes data to a new temporary file in dir with permission bits perm, fsyncs
// it and returns its path and etag. The etag is also the etag of the final file, since
// link and rename keep the inode, size and mtime. The caller moves the file into place
// or removes it.
func writeTmp(dir string, data []byte, perm fs.FileMode) (tmp, etag string, err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*"+tmpSuffix) // mode 0600
	if err != nil {
		return "", "", err
	}
	tmp = f.Name()
	fail := func(err error) (string, string, error) {
		f.Close()
		os.Remove(tmp)
		return "", "", err
	}
	if perm != 0o600 {
		if err := f.Chmod(perm); err != nil {
			return fail(err)
		}
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", "", err
	}
	return tmp, etagOf(fi), nil
}

// removeStaleTmp removes one of our temporary files if it is older than staleTmpAge.
func removeStaleTmp(path string) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTmpAge {
		os.Remove(path)
	}
}

// etagOf renders the vdir etag "<mtime ns>;<size>;<inode>" (storages.md §1.6).
func etagOf(fi fs.FileInfo) string {
	st := fileStat{mtime: fi.ModTime().UnixNano(), size: fi.Size(), ino: inode(fi)}
	return string(st.appendETag(make([]byte, 0, 48)))
}

// fileStat is what an etag is made of.
type fileStat struct {
	mtime   int64 // nanoseconds since the epoch
	size    int64
	ino     uint64
	regular bool
}

// appendETag appends the etag of st to b.
func (st fileStat) appendETag(b []byte) []byte {
	b = strconv.AppendInt(b, st.mtime, 10)
	b = append(b, ';')
	b = strconv.AppendInt(b, st.size, 10)
	b = append(b, ';')
	return strconv.AppendUint(b, st.ino, 10)
}

// pathLocks serialises writes to one path within the process.
type pathLocks struct {
	mu sync.Mutex
	m  map[string]*pathLock
}

type pathLock struct {
	sync.Mutex
	refs int
}

// lock locks path and returns the matching unlock function.
func (p *pathLocks) lock(path string) (unlock func()) {
	p.mu.Lock()
	if p.m == nil {
		p.m = make(map[string]*pathLock)
	}
	l := p.m[path]
	if l == nil {
		l = new(pathLock)
		p.m[path] = l
	}
	l.refs++
	p.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		p.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(p.m, path)
		}
		p.mu.Unlock()
	}
}

// dirSyncer fsyncs directories with group commit: a caller waits for one fsync of the
// directory that started after it asked, and callers that ask while an fsync is running
// share the next one. Concurrent writers in one collection thus pay for about one
// directory fsync per batch instead of one each.
type dirSyncer struct {
	mu   sync.Mutex
	dirs map[string]*dirSync
}

type dirSync struct {
	mu      sync.Mutex
	cond    sync.Cond
	started uint64 // fsyncs started
	done    uint64 // fsyncs finished
	running bool
	failSeq uint64 // the last failed fsync
	failErr error
}

// sync returns once an fsync of dir that started after the call has finished; it
// returns an error if any fsync since then failed.
func (d *dirSyncer) sync(dir string) error {
	d.mu.Lock()
	if d.dirs == nil {
		d.dirs = make(map[string]*dirSync)
	}
	s := d.dirs[dir]
	if s == nil {
		s = new(dirSync)
		s.cond.L = &s.mu
		d.dirs[dir] = s
	}
	d.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.started + 1 // a running fsync may have started before our write
	for s.done < target {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.running = true
		s.started++
		seq := s.started
		s.mu.Unlock()
		err := syncDir(dir)
		s.mu.Lock()
		s.running = false
		s.done = seq
		if err != nil {
			s.failSeq, s.failErr = seq, err
		}
		s.cond.Broadcast()
	}
	if s.failSeq >= target {
		return fmt.Errorf("fsync directory %s: %w", dir, s.failErr)
	}
	return nil
}

// dirtyDirs collects the collection directories whose entries item writes changed
// (link, rename, unlink) since the last Flush. Item data is fsynced before it is
// linked or renamed into place, so only the directory entries wait for Flush.
type dirtyDirs struct {
	mu sync.Mutex
	m  map[string]bool
}

func (d *dirtyDirs) add(dir string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]bool{}
	}
	d.m[dir] = true
}

// take returns and clears the set.
func (d *dirtyDirs) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.m))
	for dir := range d.m {
		out = append(out, dir)
	}
	d.m = nil
	return out
}

// ownWrites remembers the paths this Storage wrote, with the tag (etag, "dir", or "" for
// removed) they had right after the write, so that Watch can drop the events our own
// writes cause (sync.md §15.2). It remembers nothing while no Watch runs: a write made
// before a watch is added causes no event for it, and a one-shot sync of a large
// collection would otherwise keep a record per item written.
type ownWrites struct {
	watching atomic.Int32 // Watch calls running
	mu       sync.Mutex
	m        map[string]ownWrite
	sweepAt  int // size at which expired records are next swept out
}

type ownWrite struct {
	tag string
	at  time.Time
}

// ownWriteTTL bounds how long a remembered write can suppress events.
const ownWriteTTL = 2 * time.Minute

// expect records that path is about to carry tag because of our write. The returned
// function undoes the record when the write fails.
func (o *ownWrites) expect(path, tag string) (undo func()) {
	if o.watching.Load() == 0 {
		return func() {}
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = make(map[string]ownWrite)
	}
	if len(o.m) >= o.sweepAt {
		for p, w := range o.m {
			if now.Sub(w.at) > ownWriteTTL {
				delete(o.m, p)
			}
		}
		o.sweepAt = max(1024, 2*len(o.m))
	}
	prev, had := o.m[path]
	o.m[path] = ownWrite{tag, now}
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		if had {
			o.m[path] = prev
		} else {
			delete(o.m, path)
		}
	}
}

// isOwn reports whether path currently carries the tag our last write left there. A
// mismatch forgets the record: the path has been changed by someone else since.
func (o *ownWrites) isOwn(path, current string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	w, ok := o.m[path]
	if ok && w.tag == current && time.Since(w.at) <= ownWriteTTL {
		return true
	}
	delete(o.m, path)
	return false
}

// currentTag is what ownWrites compares: the etag of a file, "dir" for a directory and
// "" when path does not exist (or cannot be stat'ed).
func currentTag(path string) string {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return ""
	case fi.IsDir():
		return "dir"
	}
	return etagOf(fi)
}
