//! Go toolchain versions as written in `.go.buildinfo` ("go1.27.3", "go1.21rc2",
//! "devel go1.27-abcdef ..."), reduced to what layout decisions need: major.minor.patch.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// The string as the toolchain wrote it.
    pub raw: String,
}

impl GoVersion {
    /// Parses "go1.N", "go1.N.P", "go1.NrcK", "go1.NbetaK", "devel go1.N-...". Returns None for
    /// anything else.
    pub fn parse(raw: &str) -> Option<GoVersion> {
        let s = raw.trim();
        let s = s.strip_prefix("devel ").unwrap_or(s);
        let s = s.strip_prefix("go")?;
        let mut parts = [0u32; 3];
        let mut n = 0;
        for piece in s.split('.') {
            if n == 3 {
                break;
            }
            let digits: String = piece.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() {
                return None;
            }
            parts[n] = digits.parse().ok()?;
            n += 1;
            if digits.len() != piece.len() {
                break; // "21rc2", "27-abcdef": the rest is a suffix
            }
        }
        if n < 2 {
            return None;
        }
        Some(GoVersion {
            major: parts[0],
            minor: parts[1],
            patch: parts[2],
            raw: raw.to_string(),
        })
    }

    /// "1.27": the granularity at which runtime layouts change.
    pub fn minor_key(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// True when this version is at least major.minor.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "go{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_rc_and_devel() {
        let v = GoVersion::parse("go1.27.3").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 27, 3));
        let v = GoVersion::parse("go1.21rc2").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 21, 0));
        let v = GoVersion::parse("devel go1.27-abcdef Tue").unwrap();
        assert_eq!((v.major, v.minor), (1, 27));
        assert!(GoVersion::parse("go1.19").unwrap().at_least(1, 19));
        assert!(!GoVersion::parse("go1.19").unwrap().at_least(1, 21));
        for bad in ["", "go", "1.27", "gox.y", "go1"] {
            assert!(GoVersion::parse(bad).is_none(), "{bad}");
        }
    }
}
