// doctor runs one scheduling pathology (or a healthy program) for -d (default 5 s) so that
// `goroscope doctor` can be shown to name it first, with the right site. Scenarios (-scenario):
//
//	leak        a handler leaks a goroutine blocked on a channel send each time its timeout wins
//	            (main.leakyHandle), next to a healthy fixed pool of 4 workers
//	convoy      8 goroutines taking one sync.Mutex around ~200 µs of work (main.(*ledger).add)
//	gc          runtime.GC() in a loop
//	hog         GOMAXPROCS=1: a goroutine spinning without a function call (main.hogScenario.func1)
//	            next to a ticker that wants to run every millisecond
//	lockthread  goroutines that call runtime.LockOSThread and exit locked (main.lockedTask)
//	syscalls    16 goroutines writing and fsyncing files (blocking syscalls) in -dir
//	burn        2 goroutines computing, for a CPU-quota test (run in a cgroup with GOMAXPROCS=2)
//	compute     one goroutine computing in ~1 ms chunks with runtime.Gosched between them (no
//	            hog), for a CPU-contention test (pinned with taskset beside a competitor)
//	contend     4 goroutines computing in short chunks with runtime.Gosched between them, for the
//	            latency attribution's kernel share (pinned with taskset beside competitors)
//	burst       every 20 ms, 20,000 goroutines started at once (main.burst): the run queues pile up
//	pool        healthy: 4 workers take small jobs from a channel, one every millisecond
//	idle        healthy: an HTTP server on loopback answering a request every 100 ms
//
// At the end it prints one line, `GROUND_TRUTH {json}`, with what it knows about itself.
// Standard library only, and only APIs present in Go 1.19.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var (
	scenario = flag.String("scenario", "", "leak|convoy|gc|hog|lockthread|syscalls|burn|compute|contend|burst|pool|idle")
	duration = flag.Duration("d", 5*time.Second, "how long to run")
	dir      = flag.String("dir", os.TempDir(), "syscalls: where to write files")
)

var truth = map[string]interface{}{}

func main() {
	flag.Parse()
	run, ok := map[string]func(deadline time.Time){
		"leak": leak, "convoy": convoy, "gc": gcLoop, "hog": hogScenario,
		"lockthread": lockthread, "syscalls": syscalls, "burn": burn, "compute": compute, "contend": contend, "burst": burst, "pool": pool, "idle": idle,
	}[*scenario]
	if !ok {
		fmt.Fprintf(os.Stderr, "doctor: unknown -scenario %q\n", *scenario)
		os.Exit(2)
	}
	fmt.Printf("doctor: pid %d scenario %s\n", os.Getpid(), *scenario)
	run(time.Now().Add(*duration))
	truth["scenario"] = *scenario
	truth["gomaxprocs"] = runtime.GOMAXPROCS(0)
	truth["goroutines"] = runtime.NumGoroutine()
	b, _ := json.Marshal(truth)
	fmt.Printf("GROUND_TRUTH %s\n", b)
}

// --- leak ---

func work(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i
	}
	return s
}

// leakyHandle answers within 1 ms or gives up; the goroutine computing the answer then blocks
// forever on the unbuffered channel nobody reads: the leak.
func leakyHandle(i int) bool {
	ch := make(chan int)
	go func() { // doctor:leak-site
		if i%2 == 0 {
			time.Sleep(2 * time.Millisecond) // slower than the timeout: it will leak
		}
		ch <- work(1000)
	}()
	select {
	case <-ch:
		return false
	case <-time.After(time.Millisecond):
		return true
	}
}

func leak(deadline time.Time) {
	jobs := make(chan int)
	for w := 0; w < 4; w++ {
		go func() {
			for j := range jobs {
				work(j)
			}
		}()
	}
	leaked := 0
	for i := 0; time.Now().Before(deadline); i++ {
		if leakyHandle(i) {
			leaked++
		}
		jobs <- 1000
		time.Sleep(5 * time.Millisecond)
	}
	truth["leaked"] = leaked
}

// --- convoy ---

type ledger struct {
	mu    sync.Mutex
	total int
}

//go:noinline
func (l *ledger) add(v int) {
	l.mu.Lock() // doctor:lock-site
	l.total += work(20000) + v // the work is inside the lock: everyone queues
	l.mu.Unlock()
}

func convoy(deadline time.Time) {
	var l ledger
	var wg sync.WaitGroup
	var ops int64
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				l.add(1)
				atomic.AddInt64(&ops, 1)
			}
		}()
	}
	wg.Wait()
	truth["ops"] = ops
}

// --- gc ---

var sink []byte

func gcLoop(deadline time.Time) {
	n := 0
	for time.Now().Before(deadline) {
		sink = make([]byte, 64<<10)
		runtime.GC()
		n++
	}
	truth["gc_calls"] = n
}

// --- hog ---

func hogScenario(deadline time.Time) {
	runtime.GOMAXPROCS(1)
	var stop int32
	var spins int64
	go func() { // doctor:hog-site
		x := int64(1)
		for atomic.LoadInt32(&stop) == 0 { // no function call: only a signal preempts it
			x = x*31 + 7
		}
		atomic.StoreInt64(&spins, x)
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	var worst time.Duration
	ticks := 0
	for now := range tick.C {
		if d := now.Sub(last); d > worst {
			worst = d
		}
		last = now
		ticks++
		if now.After(deadline) {
			break
		}
	}
	atomic.StoreInt32(&stop, 1)
	truth["ticks"] = ticks
	truth["worst_tick_gap_ms"] = worst.Milliseconds()
}

// --- lockthread ---

// lockedTask locks its thread and returns without unlocking: the runtime destroys the thread.
func lockedTask(done chan<- struct{}) {
	runtime.LockOSThread()
	work(1000)
	done <- struct{}{}
}

func lockthread(deadline time.Time) {
	n := 0
	done := make(chan struct{})
	for time.Now().Before(deadline) {
		go lockedTask(done) // doctor:locked-site
		<-done
		n++
		time.Sleep(10 * time.Millisecond)
	}
	truth["exited_locked"] = n
}

// --- syscalls ---

func syncWriter(path string, deadline time.Time, n *int64) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "doctor:", err)
		os.Exit(1)
	}
	defer os.Remove(path)
	defer f.Close()
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) {
		f.Write(buf)
		f.Sync() // a blocking syscall the netpoller cannot take: the P is handed off
		atomic.AddInt64(n, 1)
	}
}

func syscalls(deadline time.Time) {
	var wg sync.WaitGroup
	var n int64
	for w := 0; w < 16; w++ {
		wg.Add(1)
		path := filepath.Join(*dir, fmt.Sprintf("doctor-%d-%d", os.Getpid(), w))
		go func() { // doctor:syscall-site
			defer wg.Done()
			syncWriter(path, deadline, &n)
		}()
	}
	wg.Wait()
	truth["fsyncs"] = n
}

// --- burn (for the CPU quota test) ---

//go:noinline
func step(x int) int { return x*31 + 7 }

func burn(deadline time.Time) {
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 1
			for time.Now().Before(deadline) {
				for i := 0; i < 10000; i++ {
					x = step(x)
				}
			}
			sink = []byte{byte(x)}
		}()
	}
	wg.Wait()
}

// --- compute (for the CPU contention test) ---

func compute(deadline time.Time) {
	done := make(chan int)
	go func() {
		chunks := 0
		for time.Now().Before(deadline) {
			work(200000)
			chunks++
			runtime.Gosched()
		}
		done <- chunks
	}()
	truth["chunks"] = <-done
}

// --- contend ---

// contend: 4 goroutines computing in short chunks with runtime.Gosched between them: at
// GOMAXPROCS=1 three are always runnable, so their waits show what held the CPU (the other
// goroutines, or, pinned beside a competitor, the kernel that runs the competitor instead).
func contend(deadline time.Time) {
	var wg sync.WaitGroup
	var chunks int64
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { // doctor:contend-site
			defer wg.Done()
			for time.Now().Before(deadline) {
				work(2000)
				atomic.AddInt64(&chunks, 1)
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	truth["chunks"] = atomic.LoadInt64(&chunks)
}

// --- burst ---

func burst(deadline time.Time) {
	var wg sync.WaitGroup
	bursts := 0
	for time.Now().Before(deadline) {
		for i := 0; i < 20000; i++ {
			wg.Add(1)
			go func() { // doctor:burst-site
				work(2000)
				wg.Done()
			}()
		}
		wg.Wait()
		bursts++
		time.Sleep(20 * time.Millisecond)
	}
	truth["bursts"] = bursts
}

// --- healthy ---

func pool(deadline time.Time) {
	jobs := make(chan int, 16)
	var wg sync.WaitGroup
	var done int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				work(j)
				atomic.AddInt64(&done, 1)
			}
		}()
	}
	for time.Now().Before(deadline) {
		jobs <- 5000
		time.Sleep(time.Millisecond)
	}
	close(jobs)
	wg.Wait()
	truth["jobs"] = done
}

func idle(deadline time.Time) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "doctor:", err)
		os.Exit(1)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	}))
	url := "http://" + ln.Addr().String() + "/"
	n := 0
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			n++
		}
		time.Sleep(100 * time.Millisecond)
	}
	truth["requests"] = n
}
