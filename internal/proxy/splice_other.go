//go:build !linux

package proxy

import "bufio"

// pipePool has nothing to keep where bodies are not spliced.
type pipePool struct{}

// trySplice never splices here: the body is copied.
func (c *clientConn) trySplice(*bufio.Writer, *upConn, *limitedReader, *proxyHandler) (bool, error) {
	return false, nil
}
