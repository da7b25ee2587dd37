package proxy

import "bytes"

// nginx reads a request head into a client_header_buffer_size (1k)
// buffer and, when a line does not fit in what is left, moves that line
// into one of large_client_header_buffers (4 of 8k). A head whose lines
// need a fifth large buffer is refused although it is under 4 x 8k in
// all: the limit depends on where the lines fall.
const (
	headerBufSize = 1 << 10
	largeBufNum   = 4
)

// headBufferStatus replays that packing over a complete head (lines
// already within lineMax): 0 when it fits, else 494. (The request line,
// first, always finds a free buffer.)
func headBufferStatus(head []byte) int {
	if len(head) <= headerBufSize {
		return 0
	}
	end, used := headerBufSize, 0
	for start := 0; start < len(head); {
		eol := bytes.IndexByte(head[start:], '\n')
		if eol < 0 {
			return 0
		}
		stop := start + eol + 1
		if stop > end {
			if used == largeBufNum {
				return 494
			}
			used++
			end = start + lineMax
		}
		start = stop
	}
	return 0
}
