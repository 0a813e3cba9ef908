//! Memcached's commands against a real server (a throwaway `memcached` of
//! the test kit's), each result as the server gave it, and the points the
//! Memcached page makes about it next to Redis.

use std::time::Duration;

use lesson_16_connect::memcached::{Error, Memcache, Reply};
use support::testkit::{self, MemcachedServer};

fn client(server: &MemcachedServer) -> Memcache {
    Memcache::connect(&server.url(), "", false).unwrap()
}

#[test]
fn storage_commands_follow_their_conditions() {
    let server = MemcachedServer::start().unwrap();
    let mut mc = client(&server);
    assert_eq!(mc.store("set", "k", 7, 0, b"hello").unwrap(), Reply::Stored);
    let value = mc.get("k").unwrap().unwrap();
    assert_eq!((value.data.as_slice(), value.flags), (&b"hello"[..], 7));
    // add only if missing, replace only if present
    assert_eq!(mc.store("add", "k", 0, 0, b"x").unwrap(), Reply::NotStored);
    assert_eq!(mc.store("add", "new", 0, 0, b"x").unwrap(), Reply::Stored);
    assert_eq!(
        mc.store("replace", "absent", 0, 0, b"x").unwrap(),
        Reply::NotStored
    );
    assert_eq!(
        mc.store("replace", "k", 0, 0, b"hi").unwrap(),
        Reply::Stored
    );
    // append / prepend glue bytes on; a value may hold \r\n
    mc.store("append", "k", 0, 0, b"\r\nthere").unwrap();
    mc.store("prepend", "k", 0, 0, b"oh ").unwrap();
    assert_eq!(mc.get("k").unwrap().unwrap().data, b"oh hi\r\nthere");
    assert_eq!(
        mc.store("append", "absent", 0, 0, b"x").unwrap(),
        Reply::NotStored
    );
    // delete, twice
    assert_eq!(mc.simple("delete k").unwrap(), Reply::Deleted);
    assert_eq!(mc.simple("delete k").unwrap(), Reply::NotFound);
    assert_eq!(mc.get("k").unwrap(), None);
}

#[test]
fn counters_are_not_redis_counters() {
    let server = MemcachedServer::start().unwrap();
    let mut mc = client(&server);
    // Missing is not zero (Redis's INCR would answer 1)...
    assert_eq!(mc.incr("incr", "n", 1).unwrap(), None);
    mc.store("set", "n", 0, 0, b"10").unwrap();
    assert_eq!(mc.incr("incr", "n", 5).unwrap(), Some(15));
    // ...and decr stops at 0 (Redis's DECRBY would answer -85).
    assert_eq!(mc.incr("decr", "n", 100).unwrap(), Some(0));
    mc.store("set", "word", 0, 0, b"ten").unwrap();
    assert!(
        matches!(mc.incr("incr", "word", 1), Err(Error::Server(line)) if line.starts_with("CLIENT_ERROR"))
    );
}

#[test]
fn cas_lets_one_of_two_racing_writers_win() {
    let server = MemcachedServer::start().unwrap();
    let (mut a, mut b) = (client(&server), client(&server));
    a.store("set", "stock", 0, 0, b"10").unwrap();
    let va = a.gets("stock").unwrap().unwrap().cas.unwrap();
    let vb = b.gets("stock").unwrap().unwrap().cas.unwrap();
    assert_eq!(va, vb, "both read the same version");
    assert_eq!(a.cas("stock", b"9", va).unwrap(), Reply::Stored);
    assert_eq!(
        b.cas("stock", b"9", vb).unwrap(),
        Reply::Exists,
        "B's version is stale"
    );
    let fresh = b.gets("stock").unwrap().unwrap();
    assert_ne!(fresh.cas.unwrap(), vb);
    assert_eq!(
        b.cas("stock", b"8", fresh.cas.unwrap()).unwrap(),
        Reply::Stored
    );
    assert_eq!(a.get("stock").unwrap().unwrap().data, b"8");
    assert_eq!(a.cas("gone", b"1", 1).unwrap(), Reply::NotFound);
}

#[test]
fn items_expire_and_flush_empties_the_server() {
    let server = MemcachedServer::start().unwrap();
    let mut mc = client(&server);
    mc.store("set", "flash", 0, 1, b"x").unwrap();
    mc.store("set", "stays", 0, 0, b"y").unwrap();
    assert!(mc.get("flash").unwrap().is_some());
    // Memcached's clock ticks once a second: poll, with a deadline.
    testkit::eventually_within(
        "the 1-second item to expire",
        Duration::from_secs(5),
        || mc.get("flash").unwrap().is_none(),
    );
    assert!(mc.get("stays").unwrap().is_some());
    assert_eq!(mc.simple("flush_all").unwrap(), Reply::Ok);
    assert_eq!(mc.get("stays").unwrap(), None);
}

#[test]
fn a_value_over_the_item_limit_is_refused_and_the_connection_lives() {
    let server = MemcachedServer::start().unwrap();
    let mut mc = client(&server);
    let big = vec![b'x'; 2 * 1024 * 1024];
    let refused = mc.store("set", "big", 0, 0, &big);
    assert!(
        matches!(&refused, Err(Error::Server(line)) if line.contains("too large")),
        "{refused:?}"
    );
    assert_eq!(mc.get("big").unwrap(), None);
    assert_eq!(
        mc.store("set", "small", 0, 0, b"ok").unwrap(),
        Reply::Stored
    );
}

/// The page's comparison with Redis, point by point, each observed.
#[test]
fn a_cache_evicts_forgets_on_restart_and_does_not_replicate() {
    // Eviction: the program fills the server until it throws the first
    // value out (the server's own `evictions` counter says so).
    let server = MemcachedServer::start().unwrap();
    let run = testkit::run(
        env!("CARGO_BIN_EXE_memcached"),
        ["--url", &server.url(), "--evict"],
    );
    assert!(run.success(), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("evicted (least recently used)"),
        "{}",
        run.stdout
    );
    assert!(client(&server).stat("evictions").unwrap() > 0);

    // No replication: a second server knows nothing of the first's items.
    let other = MemcachedServer::start().unwrap();
    client(&server).store("set", "k", 0, 0, b"v").unwrap();
    assert_eq!(client(&other).get("k").unwrap(), None);

    // No persistence: after a restart the server is empty.
    let mut restarted = other;
    client(&restarted).store("set", "k", 0, 0, b"v").unwrap();
    restarted.restart().unwrap();
    assert_eq!(client(&restarted).get("k").unwrap(), None);
}

#[test]
fn the_tour_runs_every_command_and_no_server_is_a_clear_error() {
    let server = MemcachedServer::start().unwrap();
    let run = testkit::run(env!("CARGO_BIN_EXE_memcached"), ["--url", &server.url()]);
    assert!(run.success(), "{}{}", run.stdout, run.stderr);
    for reply in [
        "< NOT_STORED",
        "< 15",
        "B< EXISTS",
        "B< 8",
        "< DELETED",
        "too large",
        "< OK",
    ] {
        assert!(
            run.stdout.contains(reply),
            "no {reply:?} in:\n{}",
            run.stdout
        );
    }

    let port = server.port();
    drop(server);
    let run = testkit::run(
        env!("CARGO_BIN_EXE_memcached"),
        ["--url", &format!("memcache://127.0.0.1:{port}")],
    );
    assert!(!run.success());
    assert!(
        run.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("just up"), "{}", run.stderr);
}
