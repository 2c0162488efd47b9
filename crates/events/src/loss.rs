//! [`LossReason`]: why the pipeline lost events (every loss is counted and reported).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossReason {
    /// `bpf_ringbuf_reserve` failed: the consumer fell behind.
    RingBufferFull,
    /// A probe could not read the Go runtime's memory (`bpf_probe_read_user` failed).
    UserMemoryUnreadable,
    /// The decoder rejected a record (bad type or size).
    MalformedRecord,
    /// A recording ended in the middle of a chunk.
    TruncatedRecording,
    /// Any other reason.
    Other,
    /// A damaged chunk of a recording was skipped (its checksum did not match).
    CorruptChunk,
}

impl LossReason {
    /// Every reason, for reports that list all of them.
    pub const ALL: [LossReason; 6] = [
        LossReason::RingBufferFull,
        LossReason::UserMemoryUnreadable,
        LossReason::MalformedRecord,
        LossReason::TruncatedRecording,
        LossReason::Other,
        LossReason::CorruptChunk,
    ];

    /// The stable snake_case name (same as the serde name).
    pub fn name(self) -> &'static str {
        match self {
            LossReason::RingBufferFull => "ring_buffer_full",
            LossReason::UserMemoryUnreadable => "user_memory_unreadable",
            LossReason::MalformedRecord => "malformed_record",
            LossReason::TruncatedRecording => "truncated_recording",
            LossReason::Other => "other",
            LossReason::CorruptChunk => "corrupt_chunk",
        }
    }
}
