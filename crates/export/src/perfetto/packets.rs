//! The low level of the Perfetto writer: one packet sequence, each `TracePacket` written as a
//! `Trace.packet` field as soon as it is made (a trace file is that repeated field), with
//! interned event and annotation names (each string written once, in the packet that first
//! uses it; the first packet clears the sequence's incremental state, the others need it).

use std::collections::HashMap;
use std::io::Write;

use prost::Message as _;

use crate::proto::perfetto::{
    debug_annotation, trace_packet, track_event, DebugAnnotation, DebugAnnotationName, EventName,
    InternedData, TracePacket, TrackDescriptor, TrackEvent,
};

/// `Trace.packet`: field 1, length-delimited.
const TRACE_PACKET_TAG: u8 = 0x0a;
const SEQUENCE_ID: u32 = 1;

/// An annotation value.
pub enum Value<'a> {
    Uint(u64),
    Int(i64),
    Bool(bool),
    Str(&'a str),
}

pub struct Packets<W: Write> {
    out: W,
    /// The first write error; everything after it is skipped and `finish` returns it.
    error: Option<std::io::Error>,
    buf: Vec<u8>,
    first: bool,
    event_names: HashMap<String, u64>,
    annotation_names: HashMap<&'static str, u64>,
    pub packets: u64,
}

impl<W: Write> Packets<W> {
    pub fn new(out: W) -> Self {
        Packets {
            out,
            error: None,
            buf: Vec::with_capacity(256),
            first: true,
            event_names: HashMap::new(),
            annotation_names: HashMap::new(),
            packets: 0,
        }
    }

    fn write(&mut self, mut packet: TracePacket) {
        if self.error.is_some() {
            return;
        }
        packet.optional_trusted_packet_sequence_id = Some(
            trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(SEQUENCE_ID),
        );
        packet.sequence_flags = Some(if self.first {
            packet.first_packet_on_sequence = Some(true);
            trace_packet::SequenceFlags::SeqIncrementalStateCleared as u32
        } else {
            trace_packet::SequenceFlags::SeqNeedsIncrementalState as u32
        });
        self.first = false;
        self.buf.clear();
        self.buf.push(TRACE_PACKET_TAG);
        packet
            .encode_length_delimited(&mut self.buf)
            .expect("a Vec grows as needed");
        if let Err(e) = self.out.write_all(&self.buf) {
            self.error = Some(e);
        }
        self.packets += 1;
    }

    pub fn descriptor(&mut self, track: TrackDescriptor) {
        self.write(TracePacket {
            data: Some(trace_packet::Data::TrackDescriptor(track)),
            ..Default::default()
        });
    }

    /// Interned id of an event name (a small fixed set of names: states, syscall names, kinds
    /// of instant), added to `interned` when new.
    fn event_name(&mut self, name: &str, interned: &mut InternedData) -> u64 {
        if let Some(&iid) = self.event_names.get(name) {
            return iid;
        }
        let iid = self.event_names.len() as u64 + 1;
        self.event_names.insert(name.to_string(), iid);
        interned.event_names.push(EventName {
            iid: Some(iid),
            name: Some(name.to_string()),
        });
        iid
    }

    fn annotation_name(&mut self, name: &'static str, interned: &mut InternedData) -> u64 {
        if let Some(&iid) = self.annotation_names.get(name) {
            return iid;
        }
        let iid = self.annotation_names.len() as u64 + 1;
        self.annotation_names.insert(name, iid);
        interned.debug_annotation_names.push(DebugAnnotationName {
            iid: Some(iid),
            name: Some(name.to_string()),
        });
        iid
    }

    /// One track event at `ts`. `name`: interned when `intern` (a name from a small set),
    /// else written as is (a goroutine's own name).
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        &mut self,
        ts: u64,
        track: u64,
        kind: track_event::Type,
        name: Option<(&str, bool)>,
        annotations: &[(&'static str, Value<'_>)],
        flow_ids: Vec<u64>,
        terminating_flow_ids: Vec<u64>,
    ) {
        let mut interned = InternedData::default();
        let name_field = name.map(|(name, intern)| {
            if intern {
                track_event::NameField::NameIid(self.event_name(name, &mut interned))
            } else {
                track_event::NameField::Name(name.to_string())
            }
        });
        let debug_annotations = annotations
            .iter()
            .map(|(key, value)| DebugAnnotation {
                name_field: Some(debug_annotation::NameField::NameIid(
                    self.annotation_name(key, &mut interned),
                )),
                value: Some(match value {
                    Value::Uint(v) => debug_annotation::Value::UintValue(*v),
                    Value::Int(v) => debug_annotation::Value::IntValue(*v),
                    Value::Bool(v) => debug_annotation::Value::BoolValue(*v),
                    Value::Str(v) => debug_annotation::Value::StringValue(v.to_string()),
                }),
            })
            .collect();
        let has_interned =
            !interned.event_names.is_empty() || !interned.debug_annotation_names.is_empty();
        self.write(TracePacket {
            timestamp: Some(ts),
            data: Some(trace_packet::Data::TrackEvent(TrackEvent {
                name_field,
                r#type: Some(kind as i32),
                track_uuid: Some(track),
                debug_annotations,
                flow_ids,
                terminating_flow_ids,
                ..Default::default()
            })),
            interned_data: has_interned.then_some(interned),
            ..Default::default()
        });
    }

    pub fn counter(&mut self, ts: u64, track: u64, value: i64) {
        self.write(TracePacket {
            timestamp: Some(ts),
            data: Some(trace_packet::Data::TrackEvent(TrackEvent {
                r#type: Some(track_event::Type::Counter as i32),
                track_uuid: Some(track),
                counter_value_field: Some(track_event::CounterValueField::CounterValue(value)),
                ..Default::default()
            })),
            ..Default::default()
        });
    }

    /// The writer back, or the first write error.
    pub fn finish(mut self) -> std::io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.out)
    }
}
