//! Redis command tours for the lessons' tests: run a tour against the shared
//! test server, in a key space of its own, and compare its transcript.
//! Built only with the `redis` feature (the Redis lessons' dev-dependency).

use super::{shared_redis, unique_name};

/// Runs one part of a Redis command tour against the shared test server,
/// under a key space no other test uses, on a connection that records every
/// command and reply instead of printing them. Deletes the keys afterwards
/// and returns the transcript with the prefix replaced by `P`, so tests can
/// write `("SET P:name alex", "OK")`.
///
/// Panics (failing the test) if the tour returns an error.
pub fn redis_tour(
    tour: impl FnOnce(&mut crate::redis::Echo, &crate::redis::KeySpace) -> redis::RedisResult<()>,
) -> crate::redis::Transcript {
    let server = shared_redis();
    let con = crate::redis::connect(&server.url()).expect("connect to the test redis-server");
    let space = crate::redis::KeySpace::new(&unique_name("tour"));
    let (mut echo, transcript) = crate::redis::Echo::capturing(con);
    let outcome = tour(&mut echo, &space);
    space
        .cleanup(echo.get_mut())
        .expect("clean up the tour's keys");
    if let Err(error) = outcome {
        let text = transcript
            .lock()
            .map(|t| t.text.clone())
            .unwrap_or_default();
        panic!(
            "the tour failed: {}\n--- transcript ---\n{text}",
            crate::redis::describe(&error)
        );
    }
    let transcript = transcript.lock().expect("transcript lock").clone();
    anonymise(transcript, space.prefix())
}

/// Replaces `prefix` by `P` everywhere in a transcript.
pub fn anonymise(
    mut transcript: crate::redis::Transcript,
    prefix: &str,
) -> crate::redis::Transcript {
    for exchange in &mut transcript.exchanges {
        exchange.command = exchange.command.replace(prefix, "P");
        exchange.shown = exchange.shown.replace(prefix, "P");
    }
    transcript.text = transcript.text.replace(prefix, "P");
    transcript
}

/// Asserts that a transcript holds exactly these commands with these
/// replies, in this order. A reply written `"*"` is not compared (random
/// or time-dependent answers, checked separately). On failure the whole
/// transcript is printed.
pub fn assert_exchanges(transcript: &crate::redis::Transcript, expected: &[(&str, &str)]) {
    let got: Vec<(&str, &str)> = transcript
        .exchanges
        .iter()
        .map(|e| (e.command.as_str(), e.shown.as_str()))
        .collect();
    let matches = got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|((gc, gr), (ec, er))| gc == ec && (*er == "*" || gr == er));
    if !matches {
        let mut diff = String::new();
        for i in 0..got.len().max(expected.len()) {
            let g = got.get(i).map(|(c, r)| format!("{c} => {r:?}"));
            let e = expected.get(i).map(|(c, r)| format!("{c} => {r:?}"));
            let mark = match (&g, &e, got.get(i), expected.get(i)) {
                (_, _, Some((gc, gr)), Some((ec, er))) if gc == ec && (*er == "*" || gr == er) => {
                    "  "
                }
                _ => "!!",
            };
            diff.push_str(&format!(
                "{mark} got:      {}\n   expected: {}\n",
                g.unwrap_or_else(|| "(nothing)".into()),
                e.unwrap_or_else(|| "(nothing)".into())
            ));
        }
        panic!(
            "the transcript differs from the expected one:\n{diff}\n--- full transcript ---\n{}",
            transcript.text
        );
    }
}
