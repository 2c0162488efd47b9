package main

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// syscalls: N blocking read(2)s of one byte on a pipe, issued with syscall.Syscall(SYS_READ)
// (so they go through the runtime's entersyscall/exitsyscall), each answered by a writer
// goroutine (raw syscall.Syscall(SYS_WRITE)) after -delay, long enough for sysmon to retake the
// reader's P while it is blocked; then M short os.ReadFile calls of a small file (open, fstat,
// read, close: fast syscalls that keep their P).
//
// Ground truth: pipe_reads (N, all completed), pipe_writes (N), read_delay_ns, file_reads (M),
// file_size, reader_goid, writer_goid, reader_tid (the reader's thread at its first read),
// raw_syscalls (pipe_reads + pipe_writes: the syscall.Syscall calls this scenario made itself;
// os.ReadFile adds at least 3 per file on top), goroutines_started = 1 (the writer; main
// reads).
func syscalls(o options, t truth) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		fail("pipe2: %v", err)
	}
	r, w := uintptr(p[0]), uintptr(p[1])
	var wg sync.WaitGroup
	writerGoid := make(chan int, 1)
	writes := 0
	wg.Add(1)
	go func() { // the writer
		defer wg.Done()
		writerGoid <- ownGoid()
		b := [1]byte{'x'}
		for i := 0; i < o.reads; i++ {
			time.Sleep(o.delay)
			if _, _, e := syscall.Syscall(syscall.SYS_WRITE, w, uintptr(unsafe.Pointer(&b[0])), 1); e != 0 {
				fail("write: %v", e)
			}
			writes++
		}
	}()
	readerTid := syscall.Gettid()
	reads := 0
	var b [1]byte
	for i := 0; i < o.reads; i++ {
		n, _, e := syscall.Syscall(syscall.SYS_READ, r, uintptr(unsafe.Pointer(&b[0])), 1)
		if e != 0 || n != 1 {
			fail("read: n=%d %v", n, e)
		}
		reads++
	}
	wg.Wait()
	syscall.Close(p[0])
	syscall.Close(p[1])

	dir, err := os.MkdirTemp("", "sched-syscalls")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "small")
	content := []byte("a small file read by the syscalls scenario\n")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		fail("%v", err)
	}
	for i := 0; i < o.files; i++ {
		if got, err := os.ReadFile(path); err != nil || len(got) != len(content) {
			fail("read %s: %v", path, err)
		}
	}
	t["goroutines_started"] = 1
	t["pipe_reads"] = reads
	t["pipe_writes"] = writes
	t["raw_syscalls"] = reads + writes
	t["read_delay_ns"] = o.delay.Nanoseconds()
	t["file_reads"] = o.files
	t["file_size"] = len(content)
	t["reader_goid"] = ownGoid()
	t["reader_tid"] = readerTid
	t["writer_goid"] = <-writerGoid
}
