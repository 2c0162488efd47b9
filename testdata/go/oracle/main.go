// oracle is the ground truth for goroscope's inspector tests: it reads a Go executable with the
// Go standard library's own readers (debug/elf, debug/gosym, debug/buildinfo, debug/dwarf) and
// prints, as JSON, what `goroscope inspect` must agree with. Built by scripts/build-oracle.sh with
// the newest toolchain, it reads binaries of every older version.
//
//	oracle [-struct runtime.g=goid,sched.sp ...] BINARY
//
// -struct asks for DWARF byte offsets of (possibly dotted, nested) fields of a runtime struct.
package main

import (
	"debug/buildinfo"
	"debug/dwarf"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
)

type structRequest map[string][]string

func (s structRequest) String() string { return fmt.Sprint(map[string][]string(s)) }
func (s structRequest) Set(v string) error {
	name, fields, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want STRUCT=field,field: %q", v)
	}
	s[name] = append(s[name], strings.Split(fields, ",")...)
	return nil
}

type function struct {
	Name  string `json:"name"`
	Entry uint64 `json:"entry"`
	End   uint64 `json:"end"`
}

type structLayout struct {
	Size   int64            `json:"size"`
	Fields map[string]int64 `json:"fields"`
}

type output struct {
	GoVersion string      `json:"go_version"`
	Path      string      `json:"path"`
	MainPath  string      `json:"main_path"`
	Settings  [][2]string `json:"settings"`
	PIE       bool        `json:"pie"`
	HasDWARF  bool        `json:"has_dwarf"`
	HasSymtab bool        `json:"has_symtab"`
	TextStart uint64      `json:"text_start"`
	// Where TextStart came from: "symtab" (runtime.text), "moduledata" (firstmoduledata.text),
	// "header" (pclntab header) or "section" (.text, as go tool addr2line falls back to).
	TextStartSource string                  `json:"text_start_source"`
	Functions       []function              `json:"functions"`
	Structs         map[string]structLayout `json:"structs,omitempty"`
	Constants       map[string]int64        `json:"constants,omitempty"`
}

func main() {
	req := structRequest{}
	flag.Var(req, "struct", "STRUCT=field,field (repeatable): DWARF offsets to report")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: oracle [-struct S=f,g] BINARY")
		os.Exit(2)
	}
	out, err := inspect(flag.Arg(0), req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
}

func inspect(path string, req structRequest) (*output, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := &output{Path: path, PIE: f.Type == elf.ET_DYN}

	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("buildinfo: %w", err)
	}
	out.GoVersion = bi.GoVersion
	out.MainPath = bi.Path
	for _, s := range bi.Settings {
		out.Settings = append(out.Settings, [2]string{s.Key, s.Value})
	}

	syms, _ := f.Symbols()
	out.HasSymtab = len(syms) > 0
	if err := readFunctions(f, syms, out); err != nil {
		return nil, err
	}

	for _, s := range f.Sections {
		if strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			out.HasDWARF = true
		}
	}
	if out.HasDWARF {
		d, err := f.DWARF()
		if err != nil {
			return nil, fmt.Errorf("dwarf: %w", err)
		}
		if out.Structs, err = structOffsets(d, req); err != nil {
			return nil, err
		}
		if out.Constants, err = runtimeConstants(d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readFunctions lists pclntab's functions with debug/gosym, given the right start of Go text.
func readFunctions(f *elf.File, syms []elf.Symbol, out *output) error {
	pclnAddr, pcln, err := findPclntab(f)
	if err != nil {
		return err
	}
	start, source, err := textStart(f, syms, pclnAddr, pcln)
	if err != nil {
		return err
	}
	out.TextStart, out.TextStartSource = start, source
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(pcln, start))
	if err != nil {
		return fmt.Errorf("gosym: %w", err)
	}
	for _, fn := range tab.Funcs {
		out.Functions = append(out.Functions, function{fn.Name, fn.Entry, fn.End})
	}
	return nil
}

// findPclntab returns the pclntab's address and bytes (to the end of its section). Stripped
// externally linked PIE binaries before Go 1.26 keep it inside .data.rel.ro with no section of its
// own; there it is the header magic that a RELATIVE relocation (moduledata.pcHeader) points at.
func findPclntab(f *elf.File) (uint64, []byte, error) {
	for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
		if s := f.Section(name); s != nil {
			data, err := s.Data()
			return s.Addr, data, err
		}
	}
	targets := map[uint64]bool{}
	for _, a := range relativeAddends(f) {
		targets[a] = true
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_PROGBITS {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return 0, nil, err
		}
		for i := 0; i+8 <= len(data); i += 8 {
			magic := binary.LittleEndian.Uint32(data[i:])
			if (magic == 0xfffffff0 || magic == 0xfffffff1) && data[i+4] == 0 && data[i+5] == 0 &&
				data[i+6] == 1 && data[i+7] == 8 && targets[s.Addr+uint64(i)] {
				return s.Addr + uint64(i), data[i:], nil
			}
		}
	}
	return 0, nil, fmt.Errorf("no pclntab (no .gopclntab section, no relocated header)")
}

// relativeAddends lists the addends of every R_X86_64_RELATIVE relocation.
func relativeAddends(f *elf.File) []uint64 {
	var out []uint64
	for _, s := range f.Sections {
		if s.Type != elf.SHT_RELA {
			continue
		}
		data, _ := s.Data()
		for i := 0; i+24 <= len(data); i += 24 {
			info := binary.LittleEndian.Uint64(data[i+8:])
			if elf.R_X86_64(info&0xffffffff) == elf.R_X86_64_RELATIVE {
				out = append(out, binary.LittleEndian.Uint64(data[i+16:]))
			}
		}
	}
	return out
}

// textStart finds the address Go's pclntab offsets are relative to. go tool addr2line uses the
// runtime.text symbol, else the .text section; but with the external linker (cgo) .text begins
// with C code, and the pclntab header's copy is left 0 for the dynamic linker to fill in, so for
// a stripped cgo binary the only record is firstmoduledata.text. moduledata is found as the word
// pointing at the pclntab (its first field, pcHeader): a plain pointer in ET_EXEC, an
// R_X86_64_RELATIVE relocation's addend in PIE. Both sources are checked against each other.
func textStart(f *elf.File, syms []elf.Symbol, pclnAddr uint64, pcln []byte) (uint64, string, error) {
	var fromSym uint64
	for _, s := range syms {
		if s.Name == "runtime.text" {
			fromSym = s.Value
		}
	}
	fromModule, modErr := moduledataText(f, pclnAddr)
	if fromSym != 0 {
		if modErr == nil && fromModule != fromSym {
			return 0, "", fmt.Errorf("runtime.text %#x but moduledata.text %#x", fromSym, fromModule)
		}
		return fromSym, "symtab", nil
	}
	if modErr == nil {
		return fromModule, "moduledata", nil
	}
	if len(pcln) >= 32 {
		if h := binary.LittleEndian.Uint64(pcln[24:32]); h != 0 {
			return h, "header", nil
		}
	}
	if s := f.Section(".text"); s != nil {
		return s.Addr, "section", nil
	}
	return 0, "", fmt.Errorf("cannot find the start of Go text: %v", modErr)
}

// offset of moduledata.text: pcHeader (8) + 6 slices (24 each) + findfunctab, minpc, maxpc (8 each).
const moduledataTextOffset = 8 + 6*24 + 3*8

func moduledataText(f *elf.File, pclnAddr uint64) (uint64, error) {
	var candidates []uint64 // addresses of words that point at the pclntab
	if f.Type == elf.ET_DYN {
		for _, s := range f.Sections {
			if s.Type != elf.SHT_RELA {
				continue
			}
			data, err := s.Data()
			if err != nil {
				return 0, err
			}
			for i := 0; i+24 <= len(data); i += 24 {
				off := binary.LittleEndian.Uint64(data[i:])
				info := binary.LittleEndian.Uint64(data[i+8:])
				addend := binary.LittleEndian.Uint64(data[i+16:])
				if elf.R_X86_64(info&0xffffffff) == elf.R_X86_64_RELATIVE && addend == pclnAddr {
					candidates = append(candidates, off)
				}
			}
		}
	} else {
		for _, name := range []string{".go.module", ".noptrdata", ".data"} {
			s := f.Section(name)
			if s == nil {
				continue
			}
			data, err := s.Data()
			if err != nil {
				return 0, err
			}
			for i := 0; i+8 <= len(data); i += 8 {
				if binary.LittleEndian.Uint64(data[i:]) == pclnAddr {
					candidates = append(candidates, s.Addr+uint64(i))
				}
			}
		}
	}
	for _, c := range candidates {
		if v, err := wordAt(f, c+moduledataTextOffset); err == nil && v != 0 {
			if text := f.Section(".text"); text != nil && v >= text.Addr && v < text.Addr+text.Size {
				return v, nil
			}
		}
	}
	return 0, fmt.Errorf("moduledata not found (%d candidates)", len(candidates))
}

// wordAt reads a pointer-sized word at a virtual address, applying a RELATIVE relocation if one
// targets it (PIE).
func wordAt(f *elf.File, addr uint64) (uint64, error) {
	if f.Type == elf.ET_DYN {
		for _, s := range f.Sections {
			if s.Type != elf.SHT_RELA {
				continue
			}
			data, _ := s.Data()
			for i := 0; i+24 <= len(data); i += 24 {
				if binary.LittleEndian.Uint64(data[i:]) == addr {
					return binary.LittleEndian.Uint64(data[i+16:]), nil
				}
			}
		}
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_PROGBITS && addr >= s.Addr && addr+8 <= s.Addr+s.Size {
			data, err := s.Data()
			if err != nil {
				return 0, err
			}
			return binary.LittleEndian.Uint64(data[addr-s.Addr:]), nil
		}
	}
	return 0, fmt.Errorf("%#x not in a PROGBITS section", addr)
}

// structOffsets resolves each requested (dotted) field path of each struct to a byte offset.
// Fields the struct lacks are left out, as goroscope leaves them out.
func structOffsets(d *dwarf.Data, req structRequest) (map[string]structLayout, error) {
	if len(req) == 0 {
		return nil, nil
	}
	found := map[string]*dwarf.StructType{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagStructType {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if _, want := req[name]; !want || found[name] != nil {
			continue
		}
		t, err := d.Type(e.Offset)
		if err != nil {
			return nil, err
		}
		if st, ok := t.(*dwarf.StructType); ok && !st.Incomplete {
			found[name] = st
		}
	}
	out := map[string]structLayout{}
	for name, fields := range req {
		st := found[name]
		if st == nil {
			continue
		}
		l := structLayout{Size: st.ByteSize, Fields: map[string]int64{}}
		for _, path := range fields {
			if off, ok := fieldOffset(st, strings.Split(path, ".")); ok {
				l.Fields[path] = off
			}
		}
		out[name] = l
	}
	return out, nil
}

func fieldOffset(st *dwarf.StructType, path []string) (int64, bool) {
	for _, f := range st.Field {
		if f.Name != path[0] {
			continue
		}
		if len(path) == 1 {
			return f.ByteOffset, true
		}
		t := f.Type
		for {
			td, ok := t.(*dwarf.TypedefType)
			if !ok {
				break
			}
			t = td.Type
		}
		inner, ok := t.(*dwarf.StructType)
		if !ok {
			return 0, false
		}
		off, ok := fieldOffset(inner, path[1:])
		return f.ByteOffset + off, ok
	}
	return 0, false
}

// runtimeConstants returns the runtime's _G* and _P* status constants (DW_TAG_constant).
func runtimeConstants(d *dwarf.Data) (map[string]int64, error) {
	out := map[string]int64{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagConstant {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		short, ok := strings.CutPrefix(name, "runtime.")
		if !ok || !(strings.HasPrefix(short, "_G") || strings.HasPrefix(short, "_P")) {
			continue
		}
		if v, ok := e.Val(dwarf.AttrConstValue).(int64); ok {
			out[short] = v
		}
	}
	return out, nil
}
