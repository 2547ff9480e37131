//! Reading a trace's text: its lines (blank lines and comments skipped, resumable at any line),
//! the comma-separated fields of a row, and the numbers they hold (seconds exact to the
//! nanosecond, whole numbers in a range).

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// Nanoseconds as seconds, as short as exact (`12.5`, `3`).
pub(super) fn secs(ns: u64) -> String {
    let whole = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Parses seconds written as a decimal number (`12`, `12.5`, at most 9 decimals) into ns.
pub(super) fn parse_secs(text: &[u8]) -> Result<u64, String> {
    let shown = String::from_utf8_lossy(text);
    let bad = || {
        format!(
            "\"{shown}\" is not a time: write seconds from the trace's start as a decimal number ≥ 0, e.g. 12.5 (at most 9 decimals)"
        )
    };
    if text.is_empty() {
        return Err("is empty: write seconds from the trace's start as a decimal number ≥ 0, e.g. 12.5".into());
    }
    if text[0] == b'-' && text.len() > 1 {
        return Err(format!(
            "\"{shown}\" is negative: times are seconds ≥ 0 from the trace's start"
        ));
    }
    let (int, frac) = match text.iter().position(|&b| b == b'.') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &[][..]),
    };
    let digits = |t: &[u8]| t.iter().all(u8::is_ascii_digit);
    if int.is_empty() || !digits(int) || !digits(frac) || (text.contains(&b'.') && frac.is_empty()) {
        return Err(bad());
    }
    if frac.len() > 9 {
        return Err(format!(
            "\"{shown}\" has more than 9 decimals: times are exact to the nanosecond"
        ));
    }
    let too_large = || format!("\"{shown}\" is too large a time");
    let mut ns: u64 = 0;
    for &d in int {
        ns = ns
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or_else(too_large)?;
    }
    ns = ns.checked_mul(1_000_000_000).ok_or_else(too_large)?;
    let mut f: u64 = 0;
    for i in 0..9 {
        f = f * 10 + frac.get(i).map_or(0, |d| u64::from(d - b'0'));
    }
    ns.checked_add(f).ok_or_else(too_large)
}

/// Parses a whole number from `lo` to `hi`.
pub(super) fn whole(text: &[u8], lo: u64, hi: u64) -> Result<u64, String> {
    let shown = String::from_utf8_lossy(text);
    let n = if !text.is_empty() && text.iter().all(u8::is_ascii_digit) {
        // All digits: a number too long to parse is out of range.
        shown.parse::<u64>().unwrap_or(u64::MAX)
    } else {
        return Err(format!("\"{shown}\" is not a whole number: allowed {lo} to {hi}"));
    };
    if n < lo || n > hi {
        return Err(format!("{shown} is out of range: allowed {lo} to {hi}"));
    }
    Ok(n)
}

/// The lines of a file that hold rows: blank lines and `#` comments skipped, each line's byte
/// offset and number known, so that reading can resume at any line.
pub(super) struct Lines {
    file: BufReader<File>,
    /// Byte offset of the next line.
    at: u64,
    /// Number of the next line (1-based).
    pub(super) line: u64,
    /// The text of the last line returned, without its terminator.
    pub(super) buf: Vec<u8>,
}

impl Lines {
    pub(super) fn open(path: &Path) -> io::Result<Lines> {
        Ok(Lines {
            file: BufReader::with_capacity(64 * 1024, File::open(path)?),
            at: 0,
            line: 1,
            buf: Vec::new(),
        })
    }

    /// Moves to the line starting at byte `byte`, numbered `line`.
    pub(super) fn seek(&mut self, byte: u64, line: u64) -> io::Result<()> {
        if byte != self.at {
            // Within the buffer this moves without reading again.
            self.file.seek_relative(byte as i64 - self.at as i64)?;
        }
        self.at = byte;
        self.line = line;
        Ok(())
    }

    /// The next line holding a row, in `self.buf`: its byte offset and number.
    pub(super) fn next(&mut self) -> io::Result<Option<(u64, u64)>> {
        loop {
            self.buf.clear();
            let n = self.file.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            let (at, line) = (self.at, self.line);
            self.at += n as u64;
            self.line += 1;
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
            }
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
            if at == 0 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.buf.drain(..3);
            }
            let blank = self.buf.iter().all(|b| matches!(b, b' ' | b'\t'));
            if blank || self.buf.first() == Some(&b'#') {
                continue;
            }
            return Ok(Some((at, line)));
        }
    }
}

/// The fields of one line, unquoted and trimmed.
#[derive(Default)]
pub(super) struct Fields {
    text: Vec<u8>,
    ends: Vec<(usize, usize)>,
}

impl Fields {
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }
    pub(super) fn get(&self, i: usize) -> &[u8] {
        let (a, b) = self.ends[i];
        &self.text[a..b]
    }

    /// Splits `line` at commas outside quotes.
    pub(super) fn split(&mut self, line: &[u8]) -> Result<(), String> {
        self.text.clear();
        self.ends.clear();
        let space = |b: u8| b == b' ' || b == b'\t';
        let n = line.len();
        let mut i = 0;
        loop {
            while i < n && space(line[i]) {
                i += 1;
            }
            let start = self.text.len();
            if i < n && line[i] == b'"' {
                i += 1;
                loop {
                    if i >= n {
                        return Err(format!(
                            "field {} opens a quote it does not close: a quoted field ends on its line",
                            self.ends.len() + 1
                        ));
                    }
                    if line[i] == b'"' {
                        if line.get(i + 1) == Some(&b'"') {
                            self.text.push(b'"');
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    } else {
                        self.text.push(line[i]);
                        i += 1;
                    }
                }
                while i < n && space(line[i]) {
                    i += 1;
                }
                if i < n && line[i] != b',' {
                    return Err(format!(
                        "field {} has text after its closing quote: write a quote inside a quoted field as \"\"",
                        self.ends.len() + 1
                    ));
                }
            } else {
                while i < n && line[i] != b',' {
                    self.text.push(line[i]);
                    i += 1;
                }
                while self.text.len() > start && space(self.text[self.text.len() - 1]) {
                    self.text.pop();
                }
            }
            self.ends.push((start, self.text.len()));
            if i < n {
                i += 1; // the comma
            } else {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_exactly_to_the_nanosecond() {
        assert_eq!(parse_secs(b"0"), Ok(0));
        assert_eq!(parse_secs(b"12.5"), Ok(12_500_000_000));
        assert_eq!(parse_secs(b"0.000000001"), Ok(1));
        assert_eq!(parse_secs(b"3600.25"), Ok(3_600_250_000_000));
        for bad in [
            "",
            "-1",
            "1.",
            ".5",
            "1e3",
            "1.2.3",
            "abc",
            "1.0000000001",
            "99999999999999999999",
        ] {
            assert!(parse_secs(bad.as_bytes()).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(secs(12_500_000_000), "12.5");
        assert_eq!(secs(3_000_000_000), "3");
    }

    #[test]
    fn fields_split_at_commas_outside_quotes() {
        let mut f = Fields::default();
        f.split(br#" 1.5 , "a, ""b""" ,,x"#).expect("splits");
        let got: Vec<&[u8]> = (0..f.len()).map(|i| f.get(i)).collect();
        assert_eq!(got, vec![&b"1.5"[..], &br#"a, "b""#[..], &b""[..], &b"x"[..]]);
        assert!(f.split(br#"1,"open"#).is_err());
        assert!(f.split(br#"1,"a"b"#).is_err());
    }
}
