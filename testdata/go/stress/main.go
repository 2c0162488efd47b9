// stress: a Go program that exercises what goroscope probes, to show that tracing it never
// changes what it computes nor makes it fail (tests/record_stress.rs). Standard library only.
//
// Each round does, at once: deep recursion with big frames (stack growth and copying), tens of
// thousands of short-lived goroutines, goroutines blocked on a channel until the round ends,
// heavy allocation (GC cycles), timers (a ticker, sleeps), a channel ping-pong, and goroutines
// that exit while locked to their thread (which the runtime then destroys). Every part adds
// a value that does not depend on scheduling to the round's checksum, printed as
// "ROUND <checksum>"; every round computes the same one.
//
// -rounds N runs N rounds; -until-eof runs rounds until stdin closes (the round under way
// finishes). At the end: GROUND_TRUTH {json}: the last checksum, the rounds, and the goroutines
// created at each of its `go` statements, by the function that holds the statement.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const (
	shortLived  = 20000
	recursers   = 8
	depth       = 5000
	blocked     = 200
	lockers     = 4
	allocBytes  = 64 << 20
	pingPongs   = 20000
	tickerTicks = 30
)

// The `go` statements, by the function that holds each: what the report's creation sites show.
var created = map[string]*int64{
	"main.spawnShort":     new(int64),
	"main.spawnRecursers": new(int64),
	"main.spawnBlocked":   new(int64),
	"main.spawnAllocator": new(int64),
	"main.spawnTimers":    new(int64),
	"main.spawnPingPong":  new(int64),
	"main.spawnLockers":   new(int64),
}

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// deep recurses n times with a 512-byte frame: the stack grows (and is copied) many times.
//
//go:noinline
func deep(n int, seed uint64) uint64 {
	var frame [64]uint64
	for i := range frame {
		frame[i] = seed + uint64(i)
	}
	if n == 0 {
		return mix(frame[63])
	}
	return mix(deep(n-1, frame[n%64]+1) + frame[0])
}

func spawnShort(sum *uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	var batch sync.WaitGroup
	for i := 0; i < shortLived; i++ {
		batch.Add(1)
		atomic.AddInt64(created["main.spawnShort"], 1)
		go func(i int) {
			atomic.AddUint64(sum, mix(uint64(i)))
			batch.Done()
		}(i)
		if i%1000 == 999 {
			batch.Wait() // bounded: at most 1000 alive at once
		}
	}
	batch.Wait()
}

func spawnRecursers(sum *uint64, wg *sync.WaitGroup) {
	for i := 0; i < recursers; i++ {
		wg.Add(1)
		atomic.AddInt64(created["main.spawnRecursers"], 1)
		go func(i int) {
			defer wg.Done()
			atomic.AddUint64(sum, deep(depth, uint64(i)))
		}(i)
	}
}

func spawnBlocked(sum *uint64, wg *sync.WaitGroup, release <-chan struct{}) {
	for i := 0; i < blocked; i++ {
		wg.Add(1)
		atomic.AddInt64(created["main.spawnBlocked"], 1)
		go func(i int) {
			defer wg.Done()
			<-release
			atomic.AddUint64(sum, mix(uint64(1_000_000+i)))
		}(i)
	}
}

func spawnAllocator(sum *uint64, wg *sync.WaitGroup) {
	wg.Add(1)
	atomic.AddInt64(created["main.spawnAllocator"], 1)
	go func() {
		defer wg.Done()
		var keep [][]byte
		var h uint64
		for done, i := 0, 0; done < allocBytes; i++ {
			n := 1 << (6 + i%12) // 64 B .. 128 KiB
			b := make([]byte, n)
			for j := 0; j < n; j += 512 {
				b[j] = byte(i + j)
			}
			h = mix(h + uint64(b[n/2]) + uint64(n))
			if i%16 == 0 {
				keep = append(keep, b) // some survive a while
				if len(keep) > 64 {
					keep = keep[32:]
				}
			}
			done += n
		}
		atomic.AddUint64(sum, h+uint64(len(keep)))
	}()
}

func spawnTimers(sum *uint64, wg *sync.WaitGroup) {
	wg.Add(1)
	atomic.AddInt64(created["main.spawnTimers"], 1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		ticks := 0
		for ticks < tickerTicks {
			<-t.C
			ticks++
		}
		<-time.After(2 * time.Millisecond)
		time.Sleep(time.Millisecond)
		atomic.AddUint64(sum, mix(uint64(ticks)))
	}()
}

func spawnPingPong(sum *uint64, wg *sync.WaitGroup) {
	ping, pong := make(chan uint64), make(chan uint64)
	wg.Add(2)
	atomic.AddInt64(created["main.spawnPingPong"], 2)
	for side := 0; side < 2; side++ {
		go func(side int) {
			defer wg.Done()
			if side == 0 {
				var total uint64
				for i := uint64(0); i < pingPongs; i++ {
					ping <- i
					total += <-pong
				}
				close(ping)
				atomic.AddUint64(sum, total)
				return
			}
			for v := range ping {
				pong <- v * 3
			}
		}(side)
	}
}

func spawnLockers(sum *uint64, wg *sync.WaitGroup) {
	for i := 0; i < lockers; i++ {
		wg.Add(1)
		atomic.AddInt64(created["main.spawnLockers"], 1)
		go func(i int) {
			defer wg.Done()
			runtime.LockOSThread()
			atomic.AddUint64(sum, mix(uint64(7_000+i)))
			// Returns locked: the runtime destroys this thread.
		}(i)
	}
}

func round() uint64 {
	var sum uint64
	var wg sync.WaitGroup
	release := make(chan struct{})
	spawnBlocked(&sum, &wg, release)
	spawnRecursers(&sum, &wg)
	spawnAllocator(&sum, &wg)
	spawnTimers(&sum, &wg)
	spawnPingPong(&sum, &wg)
	spawnLockers(&sum, &wg)
	wg.Add(1)
	spawnShort(&sum, &wg)
	time.Sleep(5 * time.Millisecond) // the blocked ones stay parked a while
	close(release)
	wg.Wait()
	return sum
}

func main() {
	rounds := flag.Int("rounds", 1, "rounds to run")
	untilEOF := flag.Bool("until-eof", false, "run rounds until stdin closes")
	flag.Parse()
	var stop atomic.Bool
	if *untilEOF {
		go func() {
			in := bufio.NewReader(os.Stdin)
			for {
				if _, err := in.ReadByte(); err != nil {
					stop.Store(true)
					return
				}
			}
		}()
	}
	var last uint64
	n := 0
	for n < *rounds || (*untilEOF && !stop.Load()) {
		last = round()
		n++
		fmt.Printf("ROUND %d\n", last)
	}
	sites := map[string]int64{}
	for f, c := range created {
		sites[f] = atomic.LoadInt64(c)
	}
	out, _ := json.Marshal(map[string]any{"checksum": fmt.Sprint(last), "rounds": n, "created": sites})
	fmt.Printf("GROUND_TRUTH %s\n", out)
}
