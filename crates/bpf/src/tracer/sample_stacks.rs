//! The stop stacks of sampled goroutines (`go_sample` records carry up to 16 frames inline),
//! interned into the same id space as the park stacks of the BPF stack map: identical stacks
//! share one id, given from [`FIRST_ID`] up so they never meet the kernel's ids (which are
//! below the stack map's size). Bounded: past [`MAX_STACKS`] distinct stacks a sample keeps no
//! stack (counted in `overflowed`, shown as a warning at the end).

use std::collections::HashMap;

/// First id of an interned sample stack (the BPF stack map has 16384 entries at most).
pub const FIRST_ID: u32 = 1 << 24;
/// Distinct stacks kept.
pub const MAX_STACKS: usize = 1 << 16;

#[derive(Debug, Default)]
pub struct SampleStacks {
    /// Looked up for every sample: foldhash, not SipHash (the frames are the program's pcs).
    ids: HashMap<Vec<u64>, u32, foldhash::fast::RandomState>,
    /// Samples whose stack was not kept because the table was full.
    pub overflowed: u64,
}

impl SampleStacks {
    /// The id of `frames` (None for an empty stack or a full table).
    pub fn intern(&mut self, frames: &[u64]) -> Option<u32> {
        if frames.is_empty() {
            return None;
        }
        if let Some(&id) = self.ids.get(frames) {
            return Some(id);
        }
        if self.ids.len() >= MAX_STACKS {
            self.overflowed += 1;
            return None;
        }
        let id = FIRST_ID + self.ids.len() as u32;
        self.ids.insert(frames.to_vec(), id);
        Some(id)
    }

    /// Every interned stack with its id.
    pub fn all(&self) -> impl Iterator<Item = (u32, Vec<u64>)> + '_ {
        self.ids.iter().map(|(frames, &id)| (id, frames.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_stacks_share_an_id_and_the_table_is_bounded() {
        let mut s = SampleStacks::default();
        let a = s.intern(&[1, 2, 3]).unwrap();
        assert_eq!(s.intern(&[1, 2, 3]), Some(a));
        assert_eq!(a, FIRST_ID);
        assert_ne!(s.intern(&[1, 2]), Some(a));
        assert_eq!(s.intern(&[]), None);
        for i in 0..MAX_STACKS as u64 {
            s.intern(&[i, 99]);
        }
        assert!(s.overflowed > 0);
        assert_eq!(s.all().count(), MAX_STACKS);
    }
}
