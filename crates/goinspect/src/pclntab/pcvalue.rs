//! Go's pc-value tables: the compact encoding behind pcsp, pcfile, pcln and pcdata. A table is a
//! sequence of (value delta, pc delta) pairs, each a uvarint: the value delta is zig-zag encoded,
//! the pc delta is in units of the instruction quantum (pcHeader.minLC). The value starts at -1
//! and the pc at the function entry; a value holds for [previous pc, new pc). A zero value delta
//! after the first pair ends the table.
//! Sources: Go's debug/gosym/pclntab.go (`step`, `pcvalue`), runtime/symtab.go (`step`).

/// Iterates a pc-value table as (pc_end, value) pairs: `value` holds for pcs below `pc_end`
/// (and at or above the previous pair's `pc_end`). Stops at the end marker or at damage.
pub struct PcValues<'a> {
    bytes: &'a [u8],
    pc: u64,
    value: i32,
    entry: u64,
    quantum: u32,
    done: bool,
}

impl<'a> PcValues<'a> {
    pub fn new(bytes: &'a [u8], entry: u64, quantum: u32) -> Self {
        PcValues {
            bytes,
            pc: entry,
            value: -1,
            entry,
            quantum,
            done: false,
        }
    }

    /// The value at `target` (as gosym's `pcvalue`), or None past the table's end.
    pub fn value_at(self, target: u64) -> Option<i32> {
        for (pc_end, value) in self {
            if target < pc_end {
                return Some(value);
            }
        }
        None
    }
}

impl Iterator for PcValues<'_> {
    type Item = (u64, i32);

    fn next(&mut self) -> Option<(u64, i32)> {
        if self.done {
            return None;
        }
        // Go treats every step as "first" while the pc has not moved off the entry.
        let first = self.pc == self.entry;
        let step = (|| {
            let uvdelta = read_varint(&mut self.bytes)?;
            if uvdelta == 0 && !first {
                return None;
            }
            let vdelta = if uvdelta & 1 != 0 {
                !(uvdelta >> 1)
            } else {
                uvdelta >> 1
            } as i32;
            let pcdelta = read_varint(&mut self.bytes)?.checked_mul(self.quantum)?;
            self.pc = self.pc.checked_add(u64::from(pcdelta))?;
            self.value = self.value.wrapping_add(vdelta);
            Some((self.pc, self.value))
        })();
        if step.is_none() {
            self.done = true;
        }
        step
    }
}

/// A uvarint of at most 32 bits (Go's `readvarint`), advancing `bytes`; None when truncated.
fn read_varint(bytes: &mut &[u8]) -> Option<u32> {
    let mut value = 0u32;
    let mut shift = 0u32;
    loop {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        if shift >= 32 {
            return None;
        }
        value |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_zigzag_deltas_and_stops_at_end_marker() {
        // value -1 + 2*? : uvdelta 0x02 → +1 → 0 for pcs [e, e+4); uvdelta 0x03 → -2 → -2 for
        // [e+4, e+6); then 0 ends.
        let table = [0x02, 0x04, 0x03, 0x02, 0x00];
        let v: Vec<_> = PcValues::new(&table, 0x1000, 1).collect();
        assert_eq!(v, [(0x1004, 0), (0x1006, -2)]);
        assert_eq!(PcValues::new(&table, 0x1000, 1).value_at(0x1005), Some(-2));
        assert_eq!(PcValues::new(&table, 0x1000, 1).value_at(0x1006), None);
    }

    #[test]
    fn truncated_tables_end_quietly() {
        for table in [
            &[][..],
            &[0x02],
            &[0x80],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ] {
            let _ = PcValues::new(table, 0, 1).count();
        }
    }
}
