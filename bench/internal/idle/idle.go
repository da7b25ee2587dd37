// Package idle holds many keep-alive client connections open and idle, the
// way browsers leave them after a page load, so that the memory a proxy
// spends per idle connection can be measured.
package idle

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Pool is a set of open, idle client connections.
type Pool struct {
	conns    []net.Conn
	Failed   int   // connections that could not be set up
	FirstErr error // the first of those errors
}

// Open dials n connections to addr (a loopback TCP address), at most par at
// a time, sends one GET path on each, reads the whole response and then
// leaves the connection idle. With tlsConf set each connection is a TLS
// client first, handshaken before its request. Connections the server
// answers with Connection: close count as failed.
func Open(ctx context.Context, addr string, tlsConf *tls.Config, n, par int, path string) (*Pool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("idle: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("idle: refusing non-loopback address %s", addr)
	}
	if n < 0 || par < 1 {
		return nil, fmt.Errorf("idle: bad n=%d or par=%d", n, par)
	}
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: wisp-bench-idle\r\nAccept: */*\r\n\r\n")
	p := &Pool{conns: make([]net.Conn, 0, n)}
	var mu sync.Mutex
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialOne(ctx, addr, tlsConf, req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				p.Failed++
				if p.FirstErr == nil {
					p.FirstErr = err
				}
				return
			}
			p.conns = append(p.conns, c)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func dialOne(ctx context.Context, addr string, tlsConf *tls.Config, req []byte) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var c net.Conn
	var err error
	if tlsConf != nil {
		c, err = (&tls.Dialer{Config: tlsConf}).DialContext(dctx, "tcp", addr)
	} else {
		c, err = (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	// With one request in flight the reader cannot hold bytes beyond the
	// response, so dropping it afterwards loses nothing.
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 4096), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
	case resp.StatusCode != http.StatusOK:
		err = fmt.Errorf("status %d", resp.StatusCode)
	case resp.Close:
		err = errors.New("server answered Connection: close")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// Len is the number of open connections.
func (p *Pool) Len() int { return len(p.conns) }

// Alive counts the connections the server still holds open. It reads each
// with a short deadline: a timeout means open and idle, anything else (EOF,
// reset, unexpected bytes) means the server has closed or abused it.
func (p *Pool) Alive() (alive, closed int) {
	buf := make([]byte, 1)
	for _, c := range p.conns {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			alive++
		} else {
			closed++
		}
	}
	return alive, closed
}

// Close closes every connection.
func (p *Pool) Close() {
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
