// inspectee exercises the runtime paths goroscope probes (goroutines, channels, syscalls,
// LockOSThread, GOMAXPROCS, GC, Goexit) so that every probed function is linked in, then prints
// its own Go version. `goroscope inspect` tests read the binary; they compare with the toolchain.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

func worker(id int, ch chan int, wg *sync.WaitGroup) {
	defer wg.Done()
	for v := range ch {
		_ = v * id
	}
}

func main() {
	var wg sync.WaitGroup
	ch := make(chan int)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go worker(i, ch, &wg)
	}
	for i := 0; i < 100; i++ {
		ch <- i
	}
	close(ch)
	wg.Wait()

	syscall.Syscall(syscall.SYS_GETPID, 0, 0, 0)
	if f, err := os.Open("/proc/self/stat"); err == nil {
		buf := make([]byte, 64)
		f.Read(buf)
		f.Close()
	}

	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		close(done)
	}()
	<-done
	go func() { runtime.Goexit() }()

	prev := runtime.GOMAXPROCS(1)
	runtime.GOMAXPROCS(prev)
	runtime.GC()
	runtime.Gosched()
	time.Sleep(time.Millisecond)
	fmt.Println("inspectee", runtime.Version(), cgoNote())
	if len(os.Args) > 1 && os.Args[1] == "wait" {
		// Stay alive for `inspect --pid`; the test kills us.
		time.Sleep(time.Hour)
	}
}
