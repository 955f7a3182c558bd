package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// Client talks to a daemon's control socket. Each request uses a connection of its
// own; a Client is safe for concurrent use.
type Client struct {
	// Path is the socket.
	Path string
	// Hello is what the daemon said it is when Dial found it.
	Hello Hello
}

// ErrNoDaemon: no daemon for this configuration answers.
var ErrNoDaemon = errors.New("no pimsync daemon runs for this configuration")

// Dial finds the daemon for configPath. It returns ErrNoDaemon when none answers
// (no socket, or one left behind by a daemon that died).
func Dial(ctx context.Context, configPath string) (*Client, error) {
	for _, p := range SocketPaths(configPath) {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		c := &Client{Path: p}
		var ans Answer
		if err := c.call(ctx, Request{Op: "hello"}, &ans); err != nil || ans.Hello == nil {
			continue
		}
		if ans.Hello.Protocol != Protocol {
			return nil, fmt.Errorf("the pimsync daemon on %s speaks protocol %d, this pimsync %d; restart the daemon", p, ans.Hello.Protocol, Protocol)
		}
		c.Hello = *ans.Hello
		return c, nil
	}
	return nil, ErrNoDaemon
}

// Runs reports whether the daemon syncs the pair.
func (c *Client) Runs(pair string) bool {
	for _, p := range c.Hello.Pairs {
		if p == pair {
			return true
		}
	}
	return false
}

// conn opens a connection and sends req; the connection is closed when ctx ends.
func (c *Client) conn(ctx context.Context, req Request) (net.Conn, *bufio.Reader, func(), error) {
	if ctx == nil {
		ctx = context.Background()
	}
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "unix", c.Path)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return nil, nil, nil, fmt.Errorf("%w (%v)", ErrNoDaemon, err)
		}
		return nil, nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		stop()
		conn.Close()
		return nil, nil, nil, err
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	return conn, r, func() { stop(); conn.Close() }, nil
}

// readAnswer reads one answer line.
func readAnswer(r *bufio.Reader, ans *Answer) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("reading the daemon's answer: %w", err)
	}
	*ans = Answer{}
	if err := json.Unmarshal(line, ans); err != nil {
		return fmt.Errorf("the daemon's answer is not valid: %w", err)
	}
	return nil
}

// call sends req and reads one answer; a failed request is an error.
func (c *Client) call(ctx context.Context, req Request, ans *Answer) error {
	_, r, done, err := c.conn(ctx, req)
	if err != nil {
		return err
	}
	defer done()
	if err := readAnswer(r, ans); err != nil {
		if ctx != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if !ans.OK {
		return fmt.Errorf("the daemon refused %s: %s", req.Op, ans.Error)
	}
	return nil
}

// Status returns the state of the daemon's pairs.
func (c *Client) Status(ctx context.Context) ([]PairStatus, error) {
	var ans Answer
	if err := c.call(ctx, Request{Op: "status"}, &ans); err != nil {
		return nil, err
	}
	return ans.Status, nil
}

// Subscribe follows the daemon's events: first calls status with the state of every
// pair, then ev for each event, until ctx ends (nil) or the connection breaks (an
// error: the daemon stopped, or dropped a client that did not keep up).
func (c *Client) Subscribe(ctx context.Context, status func([]PairStatus), ev func(Event)) error {
	_, r, done, err := c.conn(ctx, Request{Op: "subscribe"})
	if err != nil {
		return err
	}
	defer done()
	var ans Answer
	if err := readAnswer(r, &ans); err != nil {
		return err
	}
	if !ans.OK {
		return fmt.Errorf("the daemon refused subscribe: %s", ans.Error)
	}
	status(ans.Status)
	for {
		if err := readAnswer(r, &ans); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if ans.Event != nil {
			ev(*ans.Event)
		}
	}
}

// Sync has the daemon sync pairs now (all of its pairs when none is named; only the
// named collections when some are) and returns the results. Cancelling ctx cancels
// the sync.
func (c *Client) Sync(ctx context.Context, pairs, collections []string) ([]PairResult, error) {
	var ans Answer
	if err := c.call(ctx, Request{Op: "sync", Pairs: pairs, Collections: collections}, &ans); err != nil {
		return nil, err
	}
	return ans.Results, nil
}

// Resolve has the daemon settle an item conflict.
func (c *Client) Resolve(ctx context.Context, req ResolveRequest) (*ResolveAnswer, error) {
	var ans Answer
	if err := c.call(ctx, Request{Op: "resolve", Resolve: &req}, &ans); err != nil {
		return nil, err
	}
	if ans.Resolved == nil {
		return nil, errors.New("the daemon's answer has no outcome")
	}
	return ans.Resolved, nil
}

// ResolveProperty has the daemon settle a property conflict.
func (c *Client) ResolveProperty(ctx context.Context, req PropertyRequest) (*ResolveAnswer, error) {
	var ans Answer
	if err := c.call(ctx, Request{Op: "resolve-property", Property: &req}, &ans); err != nil {
		return nil, err
	}
	if ans.Resolved == nil {
		return nil, errors.New("the daemon's answer has no outcome")
	}
	return ans.Resolved, nil
}
