//! A misspelt flag is refused, not sent to the server as a request.

use support::testkit::refused;

#[test]
fn a_misspelt_flag_is_not_a_request() {
    let why = refused(env!("CARGO_BIN_EXE_rpc-client"), ["--timout", "5"]);
    assert!(why.contains("unexpected argument '--timout'"), "{why}");
    assert!(why.contains("--timeout"), "{why}");
}
