//! Landlord timestamps: fixed-width ISO-8601 UTC text.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Now, as stored: `2026-12-04T20:18:46.123456Z`.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_width_and_parsable() {
        let n = super::now();
        assert_eq!(n.len(), 27, "{n}");
        assert!(super::parse(&n).is_some());
    }
}
