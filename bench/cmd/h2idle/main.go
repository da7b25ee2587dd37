// Command h2idle holds idle HTTP/2 connections open to measure what a
// proxy keeps per connection: it opens -n TLS connections (ALPN h2) to
// -addr, makes one GET of -path on each, prints "idle N" and then keeps
// them open, without traffic, until it is interrupted.
//
//	go run ./bench/cmd/h2idle -addr 127.0.0.1:21302 -n 1000
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"

	"golang.org/x/net/http2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "the proxy's TLS address")
	n := flag.Int("n", 1000, "connections")
	path := flag.String("path", "/small", "the one request of each connection")
	flag.Parse()
	if err := run(*addr, *path, *n); err != nil {
		fmt.Fprintln(os.Stderr, "h2idle:", err)
		os.Exit(1)
	}
}

func run(addr, path string, n int) error {
	tr := &http2.Transport{}
	conf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}
	conns := make([]*http2.ClientConn, 0, n)
	for i := 0; i < n; i++ {
		tc, err := tls.Dial("tcp", addr, conf)
		if err != nil {
			return err
		}
		cc, err := tr.NewClientConn(tc)
		if err != nil {
			return err
		}
		req, err := http.NewRequest("GET", "https://"+addr+path, nil)
		if err != nil {
			return err
		}
		resp, err := cc.RoundTrip(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		conns = append(conns, cc)
	}
	fmt.Println("idle", len(conns))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	<-sig
	for _, cc := range conns {
		cc.Close()
	}
	return nil
}
