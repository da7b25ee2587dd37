package proxy

import (
	"errors"
	"io"
	"net"
	"os"
)

// With proxy_request_buffering on (the default) nginx reads the whole
// request body (ngx_http_read_client_request_body) before it chooses and
// connects an upstream peer. A slow upload then holds no upstream
// connection and no backend worker while it trickles in, a client that
// gives up mid-body never reaches the backend, and the backend gets the
// body at once. This file is that step.

var (
	// errBodyTooLarge: a chunked body grew past client_max_body_size
	// (logged where it is found).
	errBodyTooLarge = errors.New("request body too large")
	// errBodySpool: the temporary file for the body's tail failed.
	errBodySpool = errors.New("request body could not be buffered")
)

// bufferBody reads src to its end into a replayBody: the first mem bytes
// (client_body_buffer_size) in memory, the rest in an unlinked temporary
// file. The body comes back rewound for the first attempt.
func (c *clientConn) bufferBody(src io.Reader, mem int64) (*replayBody, error) {
	rb := c.newReplayBody(src, mem)
	bp := c.srv.copyBufs.Get().(*[]byte)
	defer c.srv.copyBufs.Put(bp)
	for {
		_, err := rb.Read(*bp)
		if err == io.EOF {
			break
		}
		if err != nil {
			rb.close()
			return nil, err
		}
	}
	if rb.broken {
		rb.close()
		return nil, errBodySpool
	}
	rb.whole = true
	rb.rewind()
	return rb, nil
}

// sendContinue answers "Expect: 100-continue" when the body starts to be
// read, as nginx's ngx_http_test_expect: to HTTP/1.1 clients only, once,
// and never on an HTTP/2 stream, whose server sends its own.
func (c *clientConn) sendContinue() {
	if c.req.expect100 && c.req.minor >= 1 && !isBridged(c.nc) {
		c.nc.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	}
	c.req.expect100 = false
}

// bodyFailed ends a request whose body could not be read whole, as nginx
// 1.22 ends it: a timeout is 408 and a client that left 400, logged in the
// access log without an answer (nginx writes no error-log line for the
// timeout); a malformed chunked body is 400 and a too large one 413, both
// answered; a temporary file that failed is 500. The connection closes.
func (c *clientConn) bodyFailed(ec *evalCtx, err error) bool {
	var cr clientReadError
	switch {
	case errors.Is(err, errBodyTooLarge):
		return c.sendError(413, ec, false)
	case errors.Is(err, errBodySpool):
		c.srv.log.Error("client request body could not be buffered to a temporary file", c.withHost(c.logCtx(ec))...)
		return c.sendError(500, ec, false)
	case errors.Is(err, os.ErrDeadlineExceeded):
		ec.status = 408
		return false
	case errors.As(err, &cr):
		c.srv.log.Info(clientGoneText(cr.err), c.withHost(c.logCtx(ec))...)
		ec.status = 400
		return false
	}
	c.srv.log.Error("client sent invalid chunked body", c.withHost(c.logCtx(ec))...)
	return c.sendError(400, ec, false)
}

// clientGoneText words a failed read of the client as nginx's recv
// handler does: a close is "prematurely closed", a reset names its errno.
func clientGoneText(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && !errors.Is(err, io.EOF) {
		return "recv() failed " + errnoText(err)
	}
	return "client prematurely closed connection"
}

// sendRequest writes the head and the body to the upstream. A body read
// whole goes out with the head in one writev, as nginx sends its chain of
// header and body buffers; a spooled body's memory part goes with the
// head and its file part after it.
func (c *clientConn) sendRequest(uc *upConn, h *proxyHandler, head []byte, body io.Reader) error {
	rb, ok := body.(*replayBody)
	if !ok || !rb.whole || len(rb.mem) == 0 {
		if _, err := uc.Write(head); err != nil || body == nil {
			return err
		}
		return c.copyToUpstream(uc, body, h)
	}
	bufs := net.Buffers{head, rb.mem}
	if _, err := bufs.WriteTo(uc.Conn); err != nil {
		return err
	}
	if rb.spool == nil {
		rb.pos = rb.size
		return nil
	}
	rb.pos = int64(len(rb.mem))
	return c.copyToUpstream(uc, rb, h)
}
