//! [`ProfileBuilder`]: a pprof `Profile` built sample by sample, with its string table,
//! functions and locations deduplicated and samples with the same stack and labels summed;
//! [`write_gz`] writes it gzipped, as pprof files are.

use std::collections::HashMap;
use std::io::Write;

use goroscope_events::Location;
use prost::Message as _;

use crate::output_file::SIGNATURE;
use crate::proto::pprof::{
    Function, Label, Line, Location as PLocation, Profile, Sample, ValueType,
};

/// A sample's identity: its location ids and its labels (key, value string ids).
type SampleKey = (Vec<u64>, Vec<(i64, i64)>);

#[derive(Debug, Default)]
pub struct ProfileBuilder {
    profile: Profile,
    strings: HashMap<String, i64>,
    functions: HashMap<(i64, i64), u64>,
    locations: HashMap<(u64, i64), u64>,
    /// (location ids, labels) → index in `profile.sample`.
    samples: HashMap<SampleKey, usize>,
}

impl ProfileBuilder {
    /// A profile whose samples carry one value per `(type, unit)`; the last is the default.
    pub fn new(sample_types: &[(&str, &str)], duration_ns: u64) -> Self {
        let mut b = ProfileBuilder::default();
        b.profile.string_table.push(String::new());
        b.strings.insert(String::new(), 0);
        for (ty, unit) in sample_types {
            let vt = ValueType {
                r#type: b.string(ty),
                unit: b.string(unit),
            };
            b.profile.sample_type.push(vt);
        }
        let (ty, unit) = sample_types[sample_types.len() - 1];
        b.profile.period_type = Some(ValueType {
            r#type: b.string(ty),
            unit: b.string(unit),
        });
        b.profile.period = 1;
        b.profile.duration_nanos = i64::try_from(duration_ns).unwrap_or(i64::MAX);
        b
    }

    pub fn comment(&mut self, text: &str) {
        let id = self.string(text);
        self.profile.comment.push(id);
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(&id) = self.strings.get(s) {
            return id;
        }
        let id = self.profile.string_table.len() as i64;
        self.profile.string_table.push(s.to_string());
        self.strings.insert(s.to_string(), id);
        id
    }

    fn location(&mut self, loc: &Location) -> u64 {
        let name = self.string(&loc.function);
        let file = self.string(&loc.file);
        let next = self.functions.len() as u64 + 1;
        let function_id = *self.functions.entry((name, file)).or_insert(next);
        if function_id == next {
            self.profile.function.push(Function {
                id: function_id,
                name,
                system_name: name,
                filename: file,
                start_line: 0,
            });
        }
        let line = i64::from(loc.line);
        let next = self.locations.len() as u64 + 1;
        let location_id = *self.locations.entry((function_id, line)).or_insert(next);
        if location_id == next {
            self.profile.location.push(PLocation {
                id: location_id,
                mapping_id: 0,
                address: 0,
                line: vec![Line { function_id, line }],
            });
        }
        location_id
    }

    /// Adds `values` to the sample of `stack` (leaf first) with `labels` (key, value).
    pub fn add(&mut self, stack: &[Location], labels: &[(&str, &str)], values: &[i64]) {
        debug_assert_eq!(values.len(), self.profile.sample_type.len());
        let ids: Vec<u64> = stack.iter().map(|l| self.location(l)).collect();
        let labels: Vec<(i64, i64)> = labels
            .iter()
            .map(|(k, v)| (self.string(k), self.string(v)))
            .collect();
        match self.samples.get(&(ids.clone(), labels.clone())) {
            Some(&i) => {
                for (sum, v) in self.profile.sample[i].value.iter_mut().zip(values) {
                    *sum = sum.saturating_add(*v);
                }
            }
            None => {
                self.samples
                    .insert((ids.clone(), labels.clone()), self.profile.sample.len());
                self.profile.sample.push(Sample {
                    location_id: ids,
                    value: values.to_vec(),
                    label: labels
                        .into_iter()
                        .map(|(key, str)| Label {
                            key,
                            str,
                            num: 0,
                            num_unit: 0,
                        })
                        .collect(),
                });
            }
        }
    }

    pub fn finish(self) -> Profile {
        self.profile
    }
}

/// A frame that is not a function of the program (a syscall name, a wait reason, a note).
pub fn pseudo_frame(name: impl Into<String>) -> Location {
    Location {
        function: name.into(),
        file: String::new(),
        line: 0,
    }
}

/// Writes `profile` gzipped, with goroscope's signature as the gzip header's comment (how
/// `-o` recognises a file it may replace).
pub fn write_gz(profile: &Profile, out: impl Write) -> std::io::Result<()> {
    let mut gz = flate2::GzBuilder::new()
        .comment(SIGNATURE)
        .write(out, flate2::Compression::default());
    gz.write_all(&profile.encode_to_vec())?;
    gz.finish()?.flush()
}
