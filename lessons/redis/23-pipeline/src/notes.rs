//! The notes' example of a transaction, and the prefix of this lesson's keys.

use redis::RedisResult;
use support::redis::{Echo, KeySpace};

/// The prefix of every key this lesson makes, unless `--prefix` is given.
pub const DEFAULT_PREFIX: &str = "lesson23";

// ANCHOR: notes_transaction
/// The notes' example: two SETs in one transaction. The output shows what
/// the crate sends: `MULTI`, the commands, `EXEC`, in one write; `EXEC`
/// answers with the replies of all the queued commands.
pub fn notes_transaction(con: &mut Echo, keys: &KeySpace) -> RedisResult<()> {
    con.section("a transaction: pipe().atomic()");
    let () = redis::pipe()
        .atomic()
        .set(keys.key("name"), "alex")
        .set(keys.key("role"), "teacher")
        .query(con)?;

    con.section("a pipeline that is not a transaction: pipe()");
    let (name, role): (String, String) = redis::pipe()
        .get(keys.key("name"))
        .get(keys.key("role"))
        .query(con)?;
    con.note(&format!("one round trip, two replies: {name:?}, {role:?}"));
    Ok(())
}
// ANCHOR_END: notes_transaction
