//! Byte counts for people, and sums of sizes that pointers declare (any `u64`, so a sum
//! can pass `u64::MAX`: it is checked or saturated, never wrapped).

/// Formats a byte count for people (`1.5 GiB`).
pub(crate) fn human(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

/// The sum of sizes; `None` past `u64::MAX`.
pub(crate) fn checked_total(sizes: impl IntoIterator<Item = u64>) -> Option<u64> {
    sizes.into_iter().try_fold(0u64, u64::checked_add)
}

/// A sum of sizes for people: [`human`], or "more than 16 EiB" where it overflows.
pub(crate) fn human_total(total: Option<u64>) -> String {
    total.map_or_else(|| format!("more than {}", human(u64::MAX)), human)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_for_people() {
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(checked_total([u64::MAX, 1]), None);
        assert_eq!(human_total(checked_total([1, 2])), "3 B");
        assert!(human_total(None).starts_with("more than 16"));
    }
}
