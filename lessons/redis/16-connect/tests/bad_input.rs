//! A pool of no connections, or no workers, is refused when the arguments
//! are parsed (it used to panic inside r2d2, or fail with a Redis error
//! that said nothing about the cause).

use support::testkit::refused;

#[test]
fn zero_sizes_are_refused_before_connecting() {
    let pool = env!("CARGO_BIN_EXE_pool");
    for flag in ["--size", "--workers", "--incrs"] {
        let why = refused(pool, [flag, "0"]);
        assert!(why.contains("at least 1"), "{flag}: {why}");
    }
}
