// Command dwarfdump prints, as JSON, the DWARF facts goroscope's layout tests compare against:
// the members of the named structs, every DW_TAG_constant, the addresses of the named variables,
// and how many DW_TAG_inlined_subroutine entries each function has. It uses only the standard
// library's debug/elf and debug/dwarf, so it is a reader independent of goinspect's gimli code.
//
// Usage: dwarfdump BINARY [-s STRUCT]... [-v VARIABLE]...
package main

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
)

type structInfo struct {
	Size    int64            `json:"size"`
	Members map[string]int64 `json:"members"`
}

type output struct {
	Structs   map[string]structInfo `json:"structs"`
	Constants map[string]int64      `json:"constants"`
	Variables map[string]uint64     `json:"variables"`
	Inlined   map[string]int        `json:"inlined"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "dwarfdump:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("usage: dwarfdump BINARY [-s STRUCT]... [-v VARIABLE]...")
	}
	wantStructs, wantVars := map[string]bool{}, map[string]bool{}
	for i := 1; i+1 < len(args); i += 2 {
		switch args[i] {
		case "-s":
			wantStructs[args[i+1]] = true
		case "-v":
			wantVars[args[i+1]] = true
		default:
			return fmt.Errorf("unknown flag %q", args[i])
		}
	}
	f, err := elf.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return err
	}
	out := output{
		Structs:   map[string]structInfo{},
		Constants: map[string]int64{},
		Variables: map[string]uint64{},
		Inlined:   map[string]int{},
	}
	origins := map[dwarf.Offset]int{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return err
		}
		if e == nil {
			break
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		switch e.Tag {
		case dwarf.TagStructType:
			if !wantStructs[name] || !e.Children {
				continue
			}
			if _, seen := out.Structs[name]; seen {
				continue
			}
			size, _ := e.Val(dwarf.AttrByteSize).(int64)
			info := structInfo{Size: size, Members: map[string]int64{}}
			for {
				m, err := r.Next()
				if err != nil {
					return err
				}
				if m == nil || m.Tag == 0 {
					break
				}
				if m.Tag == dwarf.TagMember {
					mname, _ := m.Val(dwarf.AttrName).(string)
					off, _ := m.Val(dwarf.AttrDataMemberLoc).(int64)
					info.Members[mname] = off
				}
				if m.Children {
					r.SkipChildren()
				}
			}
			out.Structs[name] = info
		case dwarf.TagConstant:
			if v, ok := e.Val(dwarf.AttrConstValue).(int64); ok {
				out.Constants[name] = v
			}
		case dwarf.TagVariable:
			if !wantVars[name] {
				continue
			}
			loc, _ := e.Val(dwarf.AttrLocation).([]byte)
			if len(loc) == 9 && loc[0] == 0x03 { // DW_OP_addr
				var a uint64
				for i := 8; i >= 1; i-- {
					a = a<<8 | uint64(loc[i])
				}
				out.Variables[name] = a
			}
		case dwarf.TagInlinedSubroutine:
			if o, ok := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset); ok {
				origins[o]++
			}
		}
	}
	for o, n := range origins {
		r.Seek(o)
		e, err := r.Next()
		if err != nil || e == nil {
			continue
		}
		if name, ok := e.Val(dwarf.AttrName).(string); ok {
			out.Inlined[name] += n
		}
	}
	enc := json.NewEncoder(os.Stdout)
	return enc.Encode(out)
}
