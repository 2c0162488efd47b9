//go:build !cgo

package main

func cgoNote() string { return "nocgo" }
