//! IMAP sequence sets (RFC 3501 §9, `sequence-set`): parsing, resolving `*` against a
//! mailbox, membership tests and the compact rendering used by COPYUID/APPENDUID.
//!
//! A set is kept as the client wrote it; [`SequenceSet::resolve`] turns it into sorted,
//! merged inclusive ranges once the value of `*` is known.

use std::fmt;

/// One end of a range: a number or `*` (the largest number in use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqBound {
    /// A message sequence number or UID (never 0).
    Num(u32),
    /// `*`.
    Star,
}

/// A sequence set as written: `1,3:5,7:*`. Ranges may be written in either order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<(SeqBound, SeqBound)>);

/// A resolved set: sorted, non-overlapping inclusive ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ranges(Vec<(u32, u32)>);

/// Why text is not a sequence set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid sequence set")]
pub struct BadSequenceSet;

fn parse_bound(text: &[u8]) -> Result<SeqBound, BadSequenceSet> {
    if text == b"*" {
        return Ok(SeqBound::Star);
    }
    if text.is_empty() || text.len() > 10 || !text.iter().all(u8::is_ascii_digit) {
        return Err(BadSequenceSet);
    }
    let mut value: u64 = 0;
    for &d in text {
        value = value * 10 + u64::from(d - b'0');
    }
    // RFC 3501 §9: nz-number, at most 2^32 - 1.
    match u32::try_from(value) {
        Ok(n) if n > 0 => Ok(SeqBound::Num(n)),
        _ => Err(BadSequenceSet),
    }
}

impl SequenceSet {
    /// RFC 5182's `$`, the saved search result, before the session substitutes it: the
    /// impossible range `0:0`, which matches nothing if it is ever resolved as is.
    pub fn saved() -> SequenceSet {
        SequenceSet(vec![(SeqBound::Num(0), SeqBound::Num(0))])
    }

    /// Whether this is the unsubstituted `$` of [`SequenceSet::saved`].
    pub fn is_saved(&self) -> bool {
        self.0 == [(SeqBound::Num(0), SeqBound::Num(0))]
    }

    /// The set naming exactly `nums` (ascending or not); `$`-like empty result when
    /// `nums` is empty.
    pub fn from_numbers(nums: &[u32]) -> SequenceSet {
        let mut sorted: Vec<u32> = nums.iter().copied().filter(|&n| n > 0).collect();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.is_empty() {
            return SequenceSet::saved();
        }
        let mut ranges: Vec<(SeqBound, SeqBound)> = Vec::new();
        let mut start = sorted[0];
        let mut prev = start;
        for &n in &sorted[1..] {
            if n != prev + 1 {
                ranges.push((SeqBound::Num(start), SeqBound::Num(prev)));
                start = n;
            }
            prev = n;
        }
        ranges.push((SeqBound::Num(start), SeqBound::Num(prev)));
        SequenceSet(ranges)
    }

    /// Parses `sequence-set` (RFC 3501 §9). The whole input must be the set.
    ///
    /// # Errors
    /// [`BadSequenceSet`] for empty elements, zero, numbers above 2^32-1 or other bytes.
    pub fn parse(text: &[u8]) -> Result<SequenceSet, BadSequenceSet> {
        let mut ranges = Vec::new();
        for element in text.split(|&b| b == b',') {
            let mut ends = element.splitn(2, |&b| b == b':');
            let first = parse_bound(ends.next().unwrap_or_default())?;
            let second = match ends.next() {
                Some(end) => parse_bound(end)?,
                None => first,
            };
            ranges.push((first, second));
        }
        Ok(SequenceSet(ranges))
    }

    /// Resolves `*` to `star` and returns sorted, merged ranges. When `star` is 0 (empty
    /// mailbox), `*` matches nothing.
    pub fn resolve(&self, star: u32) -> Ranges {
        let value = |b: SeqBound| match b {
            SeqBound::Num(n) => n,
            SeqBound::Star => star,
        };
        let mut ranges: Vec<(u32, u32)> = Vec::with_capacity(self.0.len());
        for &(a, b) in &self.0 {
            let (a, b) = (value(a), value(b));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            if hi == 0 {
                continue;
            }
            ranges.push((lo.max(1), hi));
        }
        Ranges::from_unsorted(ranges)
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = |b: SeqBound| match b {
            SeqBound::Num(n) => n.to_string(),
            SeqBound::Star => "*".to_string(),
        };
        for (i, &(a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                f.write_str(&bound(a))?;
            } else {
                write!(f, "{}:{}", bound(a), bound(b))?;
            }
        }
        Ok(())
    }
}

impl Ranges {
    fn from_unsorted(mut ranges: Vec<(u32, u32)>) -> Ranges {
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Ranges(merged)
    }

    /// Whether `n` is in the set. Costs O(log ranges).
    pub fn contains(&self, n: u32) -> bool {
        let idx = self.0.partition_point(|&(_, hi)| hi < n);
        self.0.get(idx).is_some_and(|&(lo, _)| lo <= n)
    }

    /// The ranges, sorted and merged.
    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.0
    }
}

/// Renders a list of numbers as a compact set, keeping their order: consecutive runs
/// (ascending by one) become `a:b`. Used for COPYUID/APPENDUID (RFC 4315 §3), where the
/// source and destination sets must list UIDs in corresponding order.
pub fn compact(numbers: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && end.checked_add(1) == Some(numbers[i + 1]) {
            end = numbers[i + 1];
            i += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_resolves() {
        let set = SequenceSet::parse(b"1,3:5,9:7,12:*").unwrap();
        let r = set.resolve(20);
        assert_eq!(r.ranges(), &[(1, 1), (3, 5), (7, 9), (12, 20)]);
        assert!(r.contains(4) && r.contains(20) && !r.contains(6) && !r.contains(21));
        assert_eq!(set.to_string(), "1,3:5,9:7,12:*");
        let star = SequenceSet::parse(b"*").unwrap();
        assert_eq!(star.resolve(0).ranges(), &[]);
        assert_eq!(star.resolve(4).ranges(), &[(4, 4)]);
        // `5:*` with only 3 messages is 3:5.
        assert_eq!(
            SequenceSet::parse(b"5:*").unwrap().resolve(3).ranges(),
            &[(3, 5)]
        );
    }

    #[test]
    fn rejects_bad_sets() {
        for bad in [
            &b""[..],
            b"0",
            b"1,",
            b",1",
            b"1:",
            b"a",
            b"1:2:3",
            b"4294967296",
            b"-1",
        ] {
            assert!(SequenceSet::parse(bad).is_err(), "{:?}", bad);
        }
        assert!(SequenceSet::parse(b"4294967295").is_ok());
    }

    #[test]
    fn compacts_in_order() {
        assert_eq!(compact(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(compact(&[9, 4, 5]), "9,4:5");
        assert_eq!(compact(&[u32::MAX, 1]), "4294967295,1");
        assert_eq!(compact(&[]), "");
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = SequenceSet::parse(&bytes);
        }

        #[test]
        fn display_round_trips(
            parts in proptest::collection::vec((0u32..50, 0u32..50), 1..8)
        ) {
            let b = |n: u32| if n == 0 { SeqBound::Star } else { SeqBound::Num(n) };
            let set = SequenceSet(parts.iter().map(|&(x, y)| (b(x), b(y))).collect());
            let text = set.to_string();
            prop_assert_eq!(SequenceSet::parse(text.as_bytes()).unwrap(), set);
        }

        #[test]
        fn membership_matches_naive(
            parts in proptest::collection::vec((1u32..60, 1u32..60), 1..6), star in 0u32..60
        ) {
            let set = SequenceSet(
                parts.iter().map(|&(x, y)| (SeqBound::Num(x), SeqBound::Num(y))).collect(),
            );
            let r = set.resolve(star);
            for n in 0..70 {
                let naive = parts.iter().any(|&(x, y)| x.min(y) <= n && n <= x.max(y));
                prop_assert_eq!(r.contains(n), naive);
            }
        }
    }
}
