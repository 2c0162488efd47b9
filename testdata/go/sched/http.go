package main

import (
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// httpScenario: a net/http server on 127.0.0.1:0 and a client doing R requests from C client
// goroutines over at most C keep-alive connections (the transport allows C per host).
//
// Ground truth: requests (R), requests_ok (200 with the expected body), handled (requests the
// handler served), client_goroutines (C), connections (new connections the server accepted,
// from its ConnState hook), port, goroutines_started = C + 1 (the clients and the goroutine
// running Serve; net/http itself starts one goroutine per accepted connection and more in the
// transport, which the runtime counts but this program does not).
func httpScenario(o options, t truth) {
	var handled, conns int64
	body := []byte("hello from the sched fixture\n")
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		atomic.AddInt64(&handled, 1)
		w.Write(body)
	})
	srv := &http.Server{Handler: mux, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			atomic.AddInt64(&conns, 1)
		}
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	served := make(chan struct{})
	go func() {
		srv.Serve(ln)
		close(served)
	}()
	tr := &http.Transport{MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns}
	client := &http.Client{Transport: tr}
	url := "http://" + ln.Addr().String() + "/"
	var ok int64
	var wg sync.WaitGroup
	for c := 0; c < o.conns; c++ {
		n := o.requests / o.conns
		if c < o.requests%o.conns {
			n++
		}
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				resp, err := client.Get(url)
				if err != nil {
					continue
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode == 200 && string(got) == string(body) {
					atomic.AddInt64(&ok, 1)
				}
			}
		}(n)
	}
	wg.Wait()
	tr.CloseIdleConnections()
	srv.Close()
	<-served
	t["goroutines_started"] = o.conns + 1
	t["requests"] = o.requests
	t["requests_ok"] = ok
	t["handled"] = atomic.LoadInt64(&handled)
	t["client_goroutines"] = o.conns
	t["connections"] = atomic.LoadInt64(&conns)
	t["port"] = ln.Addr().(*net.TCPAddr).Port
}
