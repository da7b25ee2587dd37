package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // reads the seeded database to pick the pages
)

// site is one seeded blog: a directory with its config and database.
type site struct {
	posts int
	dir   string
	port  int
}

func (s site) base() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }
func (s site) db() string   { return filepath.Join(s.dir, "content", "data", "ghost.db") }

// prepare writes the site's config and seeds it with `wisp dev seed`
// unless a previous run left the same data set (same size and seed): a
// 100,000-post site takes minutes to generate.
func (s site) prepare(ctx context.Context, wisp string, seed uint64, progress io.Writer) (time.Duration, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return 0, err
	}
	cfg := fmt.Sprintf(`{"url": "%s/", "server": {"host": "127.0.0.1", "port": %d}}`, s.base(), s.port)
	if err := os.WriteFile(filepath.Join(s.dir, "config.production.json"), []byte(cfg), 0o644); err != nil {
		return 0, err
	}
	marker := filepath.Join(s.dir, fmt.Sprintf("seeded-%d-%d", s.posts, seed))
	if _, err := os.Stat(marker); err == nil {
		return 0, nil
	}
	if err := os.RemoveAll(filepath.Join(s.dir, "content")); err != nil {
		return 0, err
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, wisp, "dev", "seed", "--posts", strconv.Itoa(s.posts), "--seed", strconv.FormatUint(seed, 10), "--dir", s.dir)
	cmd.Stdout, cmd.Stderr = progress, progress
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("wisp dev seed --posts %d: %w", s.posts, err)
	}
	took := time.Since(start)
	return took, os.WriteFile(marker, nil, 0o644)
}

// pages picks what to measure: the home page, a post from the middle of
// the archive, the tags with the most and the fewest posts (the largest
// tag page, and the one an index walk finds last), the sitemap index and
// the posts sitemap, whose size grows with the site.
func (s site) pages(ctx context.Context) ([]page, error) {
	db, err := sql.Open("sqlite", "file:"+s.db()+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var post, tag, rare string
	err = db.QueryRowContext(ctx, `SELECT slug FROM posts WHERE type = 'post' AND status = 'published'
		ORDER BY published_at LIMIT 1 OFFSET (SELECT count(*) / 2 FROM posts WHERE type = 'post' AND status = 'published')`).Scan(&post)
	if err != nil {
		return nil, fmt.Errorf("pick a post: %w", err)
	}
	err = db.QueryRowContext(ctx, `SELECT t.slug FROM tags t JOIN posts_tags pt ON pt.tag_id = t.id
		WHERE t.visibility = 'public' GROUP BY t.id ORDER BY count(*) DESC, t.slug LIMIT 1`).Scan(&tag)
	if err != nil {
		return nil, fmt.Errorf("pick a tag: %w", err)
	}
	err = db.QueryRowContext(ctx, `SELECT t.slug FROM tags t JOIN posts_tags pt ON pt.tag_id = t.id
		WHERE t.visibility = 'public' GROUP BY t.id ORDER BY count(*), t.slug LIMIT 1`).Scan(&rare)
	if err != nil {
		return nil, fmt.Errorf("pick a tag: %w", err)
	}
	return []page{
		{name: "home", path: "/"},
		{name: "post", path: "/" + post + "/"},
		{name: "tag", path: "/tag/" + tag + "/"},
		{name: "raretag", path: "/tag/" + rare + "/"},
		{name: "sitemap", path: "/sitemap.xml"},
		{name: "smposts", path: "/sitemap-posts.xml"},
	}, nil
}

// server is a running `wisp serve`, in its own process group.
type server struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startServer(s site, wisp string, log io.Writer) (*server, error) {
	cmd := exec.Command(wisp, "serve", "--dir", s.dir)
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start wisp serve: %w", err)
	}
	sv := &server{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(sv.done)
	}()
	return sv, nil
}

func (sv *server) pid() int { return sv.cmd.Process.Pid }

// stop asks for a graceful shutdown and kills the group if it takes long.
func (sv *server) stop() {
	syscall.Kill(-sv.pid(), syscall.SIGTERM)
	select {
	case <-sv.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-sv.pid(), syscall.SIGKILL)
		<-sv.done
	}
}

var errExited = errors.New("wisp serve exited")

// firstOK polls url until it answers 200 and returns how long that took
// from start. Connection errors mean "not yet"; any other status is an
// error, as is the server exiting or limit passing.
func (sv *server) firstOK(ctx context.Context, url string, start time.Time, limit time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: limit, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := start.Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-sv.done:
			return 0, errExited
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
			return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		var op *net.OpError
		if !errors.As(err, &op) {
			return 0, err
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("GET %s: no 200 within %v", url, limit)
}

// listening waits until the server accepts connections on addr.
func (sv *server) listening(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-sv.done:
			return errExited
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("%s: not listening within %v", addr, limit)
}

// fetch gets url once and returns the status code, the body size and
// how long the whole response took.
func fetch(url string) (code int, size int64, took time.Duration, err error) {
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := time.Now()
	resp, err := client.Get(url)
	if err != nil {
		return 0, 0, 0, err
	}
	size, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, size, time.Since(start), err
}
