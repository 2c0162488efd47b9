//go:build cgo

package main

// int goroscope_add(int a, int b) { return a + b; }
import "C"

func cgoNote() string {
	if C.goroscope_add(1, 2) == 3 {
		return "cgo"
	}
	return "cgo-broken"
}
