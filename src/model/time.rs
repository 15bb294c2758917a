//! Timestamps as the file stores them (ISO-8601 UTC text with microseconds, so that text order
//! is time order) and as people read them (local time, "20 Nov 2026 10:14").

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A moment, stored as `2026-11-20T10:14:03.123456Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub Timestamp);

impl Stamp {
    pub fn now() -> Stamp {
        Stamp(Timestamp::now())
    }

    /// The stored form; fixed width, so comparing texts compares moments.
    pub fn to_sql(self) -> String {
        self.0.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }

    /// The next representable stored moment (one microsecond later).
    #[must_use]
    pub fn next(self) -> Stamp {
        Stamp(
            self.0
                .checked_add(jiff::SignedDuration::from_micros(1))
                .unwrap_or(self.0),
        )
    }

    /// Truncated to what the file keeps (microseconds), so a stamp equals itself after a round trip.
    #[must_use]
    pub fn truncated(self) -> Stamp {
        let micros = self.0.as_microsecond();
        Stamp(Timestamp::from_microsecond(micros).unwrap_or(self.0))
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sql())
    }
}

impl FromStr for Stamp {
    type Err = jiff::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<Timestamp>().map(Stamp)
    }
}

/// "20 Nov 2026 10:14" in the given time zone.
pub fn format_minute(stamp: Stamp, tz: &TimeZone) -> String {
    stamp
        .0
        .to_zoned(tz.clone())
        .strftime("%-d %b %Y %H:%M")
        .to_string()
}

/// "20 Nov 2026" in the given time zone.
pub fn format_day(stamp: Stamp, tz: &TimeZone) -> String {
    stamp
        .0
        .to_zoned(tz.clone())
        .strftime("%-d %b %Y")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_fixed_width_and_round_trips() {
        let s: Stamp = "2026-11-20T10:14:03.5Z".parse().unwrap();
        assert_eq!(s.to_sql(), "2026-11-20T10:14:03.500000Z");
        assert_eq!(s.to_sql().parse::<Stamp>().unwrap(), s);
        assert_eq!(s.next().to_sql(), "2026-11-20T10:14:03.500001Z");
    }

    #[test]
    fn display_forms() {
        let s: Stamp = "2026-11-20T10:14:03Z".parse().unwrap();
        assert_eq!(format_minute(s, &TimeZone::UTC), "20 Nov 2026 10:14");
        assert_eq!(format_day(s, &TimeZone::UTC), "20 Nov 2026");
    }
}
