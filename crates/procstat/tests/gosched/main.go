// gosched prints what the Go runtime says about its own scheduler, as one JSON line
// ({"pid": ..., "gomaxprocs": runtime.GOMAXPROCS(0)}), then waits for a line on stdin so that a
// test can read the scheduler's counters from its memory meanwhile.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"runtime"
)

func main() {
	out, _ := json.Marshal(map[string]int{
		"pid":        os.Getpid(),
		"gomaxprocs": runtime.GOMAXPROCS(0),
	})
	os.Stdout.Write(append(out, '\n'))
	bufio.NewReader(os.Stdin).ReadString('\n')
}
