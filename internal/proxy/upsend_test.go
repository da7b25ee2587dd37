package proxy

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The request head goes out with the first read of the answer
// (sendThenRead): whatever its size, the upstream must get all of it
// before the answer is read, and a peer that is gone must show as a send
// failure, which attempt retries on a cached connection.
func TestRequestHeadSentWithTheAnswersReadReachesTheUpstream(t *testing.T) {
	for _, tc := range []struct {
		name     string
		headLen  int
		peerGone bool
	}{
		{"small head", 200, false},
		{"head larger than the socket buffers", 4 << 20, false},
		{"peer closed before the head", 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "u.sock"))
			must(t, err)
			defer ln.Close()
			got := make(chan int, 1)
			go func() {
				pc, err := ln.Accept()
				if err != nil {
					got <- -1
					return
				}
				defer pc.Close()
				if tc.peerGone {
					got <- 0
					return
				}
				n, _ := io.ReadFull(pc, make([]byte, tc.headLen))
				got <- n
				io.WriteString(pc, "answer")
			}()
			nc, err := net.Dial("unix", ln.Addr().String())
			must(t, err)
			defer nc.Close()
			if tc.peerGone {
				<-got
				time.Sleep(10 * time.Millisecond) // let the close land; no timing is asserted
			}
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			var s upSource
			s.init(nc)
			s.sendWithRead([]byte(strings.Repeat("h", tc.headLen)))
			buf := make([]byte, 64)
			n, err := s.Read(buf)
			var se upSendError
			switch {
			case tc.peerGone:
				// Either the write fails or the read finds the close.
				if !errors.As(err, &se) && err != io.EOF {
					t.Fatalf("read after a closed peer: %d, %v; want a send error or EOF", n, err)
				}
			case err != nil:
				t.Fatalf("read: %v", err)
			default:
				if m := <-got; m != tc.headLen {
					t.Errorf("upstream got %d head bytes, want %d", m, tc.headLen)
				}
				if string(buf[:n]) != "answer" {
					t.Errorf("answer %q", buf[:n])
				}
			}
			if s.unsent != nil {
				t.Errorf("%d head bytes left unsent", len(s.unsent))
			}
		})
	}
}
