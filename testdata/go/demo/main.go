// demo is the program goroscope's README demo traces: a small job server with a worker pool, a
// producer, periodic GC, file reads (blocking syscalls) and one classic bug — a request handler
// that leaks a goroutine per request on a channel nobody reads. Standard library only.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

type job struct{ n int }

func worker(jobs <-chan job, results chan<- int, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := range jobs {
		sum := 0
		for i := 0; i < 20000*j.n; i++ {
			sum += i % 7
		}
		results <- sum
	}
}

// handle answers a request with a timeout, but the goroutine it starts blocks forever on its
// send when the timeout wins: one leaked goroutine per slow request.
func handle(n int) {
	reply := make(chan int)
	go func() {
		time.Sleep(time.Duration(n%3) * time.Millisecond)
		reply <- n
	}()
	select {
	case <-reply:
	case <-time.After(time.Millisecond):
	}
}

func readSelf() {
	buf := make([]byte, 4096)
	if f, err := os.Open("/proc/self/stat"); err == nil {
		f.Read(buf)
		f.Close()
	}
}

func main() {
	jobs := make(chan job)
	results := make(chan int, 64)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go worker(jobs, results, &wg)
	}
	go func() {
		for range results {
		}
	}()
	deadline := time.Now().Add(1500 * time.Millisecond)
	for n := 0; time.Now().Before(deadline); n++ {
		jobs <- job{n: n%5 + 1}
		if n%50 == 0 {
			handle(n)
			readSelf()
		}
		if n%500 == 0 {
			runtime.GC()
		}
	}
	close(jobs)
	wg.Wait()
	time.Sleep(10 * time.Millisecond)
	fmt.Printf("demo: done, %d goroutines still alive (leaked by handle)\n", runtime.NumGoroutine()-2)
}
