// parked starts -n goroutines that block forever on one channel (the shape of a goroutine leak
// at scale), prints `READY <pid>` and waits for a line on stdin: the target of
// bench/snapshot_cost.sh, which measures what reading every goroutine from memory costs.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
)

func park(ch chan struct{}) { <-ch }

func main() {
	n := flag.Int("n", 100000, "goroutines to park")
	flag.Parse()
	ch := make(chan struct{})
	for i := 0; i < *n; i++ {
		go park(ch)
	}
	for runtime.NumGoroutine() < *n+1 {
		runtime.Gosched()
	}
	runtime.GC()
	runtime.GC()
	fmt.Printf("READY %d\n", os.Getpid())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}
