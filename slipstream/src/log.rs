//! Keeping logs readable when a peer misbehaves at volume.

/// Whether the `count`th occurrence of a repeated problem is logged: the first eight, then
/// every power of two up to 1024, then every 1024th. The counters say how many there were;
/// the log says that it is happening, without one line per bad frame.
pub(crate) fn sampled(count: u64) -> bool {
    count <= 8 || (count <= 1024 && count.is_power_of_two()) || count.is_multiple_of(1024)
}

#[cfg(test)]
mod tests {
    use super::sampled;

    #[test]
    fn logs_the_first_few_then_fewer() {
        let logged: Vec<u64> = (1..=5000).filter(|&n| sampled(n)).collect();
        assert_eq!(
            logged,
            [
                1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3072, 4096
            ]
        );
    }
}
