package proxy

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// h2writer is the one write path of an HTTP/2 connection. Frames are
// appended to a buffer under a lock, and whoever finds no write under way
// writes the buffer to the socket; frames appended meanwhile go out in
// that writer's next round. So a burst of answers and control frames
// leaves in few TLS writes, and no goroutine exists only to write.
type h2writer struct {
	nc net.Conn

	mu       sync.Mutex
	buf      []byte        // frames not written yet
	spare    []byte        // the buffer being written, reused for the next round
	writing  bool          // a goroutine is writing: it takes what is appended
	err      error         // the socket failed: nothing more goes out
	closing  bool          // the connection is closing: writes may take h2CloseLinger
	idle     chan struct{} // closed when writing stops, for finish
	queued   int64         // bytes appended since the start
	written  int64         // bytes written since the start
	roomWait chan struct{}
}

// h2MaxPending is how much a connection holds unwritten before stream
// writers wait for the socket, and past which the peer's control frames
// (PING and SETTINGS acknowledgements) count as a flood: a peer that
// sends them and never reads gets its connection closed.
const h2MaxPending = 256 << 10

var errH2Closed = errors.New("http2: connection closed")

// frameHeader appends a frame header (RFC 9113 §4.1).
func appendFrameHeader(b []byte, length int, typ http2.FrameType, flags http2.Flags, stream uint32) []byte {
	return append(b, byte(length>>16), byte(length>>8), byte(length), byte(typ), byte(flags),
		byte(stream>>24)&0x7f, byte(stream>>16), byte(stream>>8), byte(stream))
}

// queue appends frames built by fn under the lock; fn gets the buffer and
// returns it extended.
func (w *h2writer) queue(fn func([]byte) []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	n := len(w.buf)
	w.buf = fn(w.buf)
	w.queued += int64(len(w.buf) - n)
	return nil
}

// pending reports how many bytes wait to be written.
func (w *h2writer) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf)
}

// release drops buffers grown past readBufSize (a large answer's DATA)
// when nothing waits to be written, so that an idle connection keeps no
// more than small ones.
func (w *h2writer) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.writing || len(w.buf) > 0 {
		return
	}
	if cap(w.buf) > readBufSize {
		w.buf = nil
	}
	if cap(w.spare) > readBufSize {
		w.spare = nil
	}
}

// flush writes what is queued unless another goroutine is writing, which
// then takes it. It fails only if what was queued before it cannot go
// out: a connection that closed after writing it is no failure of its.
// The socket may take until deadline (zero: sendTimeout from now), the
// engine's send_timeout for the caller's answer: a socket that takes
// nothing that long fails the connection, as in nginx.
func (w *h2writer) flush(deadline time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	target := w.queued
	if !w.writing && w.err == nil && len(w.buf) > 0 {
		w.writing = true
		w.writeLoop(deadline)
	}
	return w.failedBefore(target)
}

// flushBehind is flush for the connection's reader, which must go on
// reading while a peer that does not read blocks the socket: when there
// is something to write and no one writes, a goroutine does.
func (w *h2writer) flushBehind() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.writing || w.err != nil || len(w.buf) == 0 {
		return
	}
	w.writing = true
	go func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.writeLoop(time.Time{})
	}()
}

// writeLoop writes rounds of the buffer until it is empty; with w.mu held
// and writing set, which it clears.
func (w *h2writer) writeLoop(deadline time.Time) {
	for len(w.buf) > 0 && w.err == nil {
		out := w.buf
		w.buf = w.spare[:0]
		by := deadline
		switch {
		case w.closing:
			by = time.Now().Add(h2CloseLinger)
		case by.IsZero():
			by = time.Now().Add(sendTimeout)
		}
		w.mu.Unlock()
		w.nc.SetWriteDeadline(by)
		n, err := w.nc.Write(out)
		w.mu.Lock()
		w.written += int64(n)
		w.spare = out[:0]
		if err != nil {
			// The peer is gone or took nothing until the deadline: the
			// connection ends, its reader with it.
			w.err = err
			w.nc.Close()
		}
		if w.roomWait != nil {
			close(w.roomWait)
			w.roomWait = nil
		}
	}
	w.writing = false
	if w.idle != nil {
		close(w.idle)
		w.idle = nil
	}
}

// h2CloseLinger is how long a closing connection's last frames (GOAWAY)
// may take to go out.
const h2CloseLinger = time.Second

// finish writes what is queued, waiting at most h2CloseLinger for a
// write under way, and then stops all writing.
func (w *h2writer) finish() {
	w.mu.Lock()
	w.closing = true
	if w.writing {
		w.nc.SetWriteDeadline(time.Now().Add(h2CloseLinger))
		w.idle = make(chan struct{})
		idle := w.idle
		w.mu.Unlock()
		<-idle
		w.mu.Lock()
	}
	if w.err == nil && len(w.buf) > 0 {
		w.writing = true
		w.writeLoop(time.Time{})
	}
	w.mu.Unlock()
	w.fail(errH2Closed)
}

// failedBefore is the writer's error if bytes up to target were not
// written; with w.mu held.
func (w *h2writer) failedBefore(target int64) error {
	if w.err != nil && w.written < target {
		return w.err
	}
	return nil
}

// makeRoom waits, before a stream queues more data, until the buffer is
// below h2MaxPending (writing it itself if no one is), the socket failed,
// done is closed or the deadline passes.
func (w *h2writer) makeRoom(done <-chan struct{}, deadline time.Time) error {
	for {
		w.mu.Lock()
		if w.err != nil || len(w.buf) < h2MaxPending {
			err := w.err
			w.mu.Unlock()
			return err
		}
		if !w.writing {
			w.mu.Unlock()
			if err := w.flush(deadline); err != nil {
				return err
			}
			continue
		}
		if w.roomWait == nil {
			w.roomWait = make(chan struct{})
		}
		ch := w.roomWait
		w.mu.Unlock()
		if err := waitSignal(ch, done, deadline); err != nil {
			return err
		}
	}
}

// fail stops all writing (the connection is closing).
func (w *h2writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
	if w.roomWait != nil {
		close(w.roomWait)
		w.roomWait = nil
	}
}

func appendSettingsAck(b []byte) []byte {
	return appendFrameHeader(b, 0, http2.FrameSettings, http2.FlagSettingsAck, 0)
}

func appendPingAck(b []byte, data [8]byte) []byte {
	b = appendFrameHeader(b, 8, http2.FramePing, http2.FlagPingAck, 0)
	return append(b, data[:]...)
}

func appendSetting(b []byte, id http2.SettingID, v uint32) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(id))
	return binary.BigEndian.AppendUint32(b, v)
}

func appendWindowUpdate(b []byte, stream uint32, n uint32) []byte {
	b = appendFrameHeader(b, 4, http2.FrameWindowUpdate, 0, stream)
	return binary.BigEndian.AppendUint32(b, n&0x7fffffff)
}

func appendRSTStream(b []byte, stream uint32, code http2.ErrCode) []byte {
	b = appendFrameHeader(b, 4, http2.FrameRSTStream, 0, stream)
	return binary.BigEndian.AppendUint32(b, uint32(code))
}

func appendGoAway(b []byte, last uint32, code http2.ErrCode) []byte {
	b = appendFrameHeader(b, 8, http2.FrameGoAway, 0, 0)
	b = binary.BigEndian.AppendUint32(b, last&0x7fffffff)
	return binary.BigEndian.AppendUint32(b, uint32(code))
}

// appendHeaderBlock frames a header block as HEADERS and as many
// CONTINUATION frames as the peer's frame size needs; they go out
// back to back, as RFC 9113 §6.10 requires.
func appendHeaderBlock(b []byte, stream uint32, block []byte, end bool, maxFrame int) []byte {
	typ, flags := http2.FrameHeaders, http2.Flags(0)
	if end {
		flags = http2.FlagHeadersEndStream
	}
	for {
		n := min(len(block), maxFrame)
		f := flags
		if n == len(block) {
			f |= http2.FlagHeadersEndHeaders
		}
		b = appendFrameHeader(b, n, typ, f, stream)
		b = append(b, block[:n]...)
		block = block[n:]
		if len(block) == 0 {
			return b
		}
		typ, flags = http2.FrameContinuation, 0
	}
}

// appendData frames p as one DATA frame.
func appendData(b []byte, stream uint32, p []byte, end bool) []byte {
	var flags http2.Flags
	if end {
		flags = http2.FlagDataEndStream
	}
	b = appendFrameHeader(b, len(p), http2.FrameData, flags, stream)
	return append(b, p...)
}

// waitSignal waits for ch, done (errH2Closed) or the deadline
// (os.ErrDeadlineExceeded; none when zero).
func waitSignal(ch <-chan struct{}, done <-chan struct{}, deadline time.Time) error {
	var expire <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-ch:
		return nil
	case <-expire:
		return os.ErrDeadlineExceeded
	case <-done:
		return errH2Closed
	}
}
