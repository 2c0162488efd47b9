// Command http runs a net/http server and client in one process on loopback: -c client
// goroutines, each with its own keep-alive connection, send GET requests as fast as the server
// answers. Reports ns per request (wall time over all requests, i.e. inverse throughput).
package main

import (
	"flag"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"goroscope.dev/bench/workloads/internal/harness"
)

var body = []byte("pong: goroscope overhead benchmark\n")

func main() {
	run := harness.Flags(2e9)
	conns := flag.Int("c", 32, "concurrent client connections")
	flag.Parse()
	if *conns < 1 {
		harness.Fail("-c must be at least 1")
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		harness.Fail("listening on loopback: %v", err)
	}
	server := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	})}
	go func() { _ = server.Serve(listener) }()

	url := "http://" + listener.Addr().String() + "/"
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns},
		Timeout:   10 * time.Second,
	}
	get := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return err
	}
	var requests int64
	var failure atomic.Value
	clients := func(until func() bool) {
		var wg sync.WaitGroup
		wg.Add(*conns)
		for c := 0; c < *conns; c++ {
			go func() {
				defer wg.Done()
				for until() {
					if err := get(); err != nil {
						failure.Store(err)
						return
					}
					atomic.AddInt64(&requests, 1)
				}
			}()
		}
		wg.Wait()
		if err, ok := failure.Load().(error); ok {
			harness.Fail("request failed: %v", err)
		}
	}
	// Warm-up: every connection open and in the idle pool before the measured part.
	warm := int64(0)
	clients(func() bool { return atomic.AddInt64(&warm, 1) <= int64(20**conns) })

	requests = 0
	run.Start()
	clients(func() bool { return run.Elapsed() < run.Duration })
	run.Finish(atomic.LoadInt64(&requests))
	_ = server.Close()
}
