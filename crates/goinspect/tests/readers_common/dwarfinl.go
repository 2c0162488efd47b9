// dwarfinl prints, as JSON, how many DW_TAG_inlined_subroutine entries of a Go binary's DWARF
// name each callee (via DW_AT_abstract_origin): the ground truth for goinspect's inline counts.
// Built and run by crates/goinspect/tests/readers_*.rs with the newest Go toolchain.
package main

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	f, err := elf.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	d, err := f.DWARF()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	names := map[dwarf.Offset]string{}
	origins := []dwarf.Offset{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if e == nil {
			break
		}
		switch e.Tag {
		case dwarf.TagSubprogram:
			if n, ok := e.Val(dwarf.AttrName).(string); ok {
				names[e.Offset] = n
			}
		case dwarf.TagInlinedSubroutine:
			if o, ok := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset); ok {
				origins = append(origins, o)
			}
		}
	}
	counts := map[string]int{}
	for _, o := range origins {
		counts[names[o]]++
	}
	json.NewEncoder(os.Stdout).Encode(counts)
}
