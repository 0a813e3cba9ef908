//! Percentiles and medians, written once for every lesson and benchmark
//! that summarises what it measured.
//!
//! Both answer `None` for no values: a table then says "not measured"
//! rather than showing a zero that was never observed.

/// The nearest-rank percentile of `sorted` (ascending): the smallest value
/// that at least `percent` % of the values are at or below. `percent` is
/// 0 to 100; 0 gives the smallest value, 100 the largest.
///
/// ```
/// use support::stats::percentile;
/// let sorted = [1, 2, 2, 3, 4];
/// assert_eq!(percentile(&sorted, 50.0), Some(2));
/// assert_eq!(percentile(&sorted, 99.0), Some(4));
/// assert_eq!(percentile(&sorted, 0.0), Some(1));
/// assert_eq!(percentile::<u32>(&[], 50.0), None);
/// ```
pub fn percentile<T: Copy>(sorted: &[T], percent: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    // Rank n (1-based) is the n-th smallest; rank 0 would be "below
    // everything", so the smallest value stands for it.
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The middle value (the mean of the two middle ones for an even count):
/// unlike the best or the mean, one lucky or unlucky round cannot move it.
///
/// ```
/// use support::stats::median;
/// assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
/// assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
/// assert_eq!(median(&[]), None);
/// ```
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}
