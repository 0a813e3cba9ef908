//! What the server remembers about each client address: how many
//! connections it holds, and how many wrong passwords it sent lately.
//!
//! Two attacks need a memory that outlives one connection:
//!
//! - *Holding every slot.* One address opens connection after connection
//!   until the server is full. [`Guard::admit`] caps the connections of one
//!   address (`--max-per-address`, half the server by default).
//! - *Guessing passwords.* Closing a connection after three wrong passwords
//!   only makes the guesser reconnect. So the wrong guesses are counted per
//!   address, and every answer to a password from that address waits a
//!   little longer than the last ([`login_delay`]): 0.1 s after the first
//!   wrong guess, doubling up to 10 s. The wait is a timer in the event loop,
//!   never a sleep: the others are served meanwhile. Every PASS answer
//!   waits, the right ones too, so that a guesser running many connections
//!   at once cannot read "wrong" from a late answer. The count is forgotten
//!   after [`FORGET_AFTER`] without a wrong guess, never on a good login
//!   (a guesser with an account of its own, or anonymous, could reset it).
//!
//! An "address" here is what one client cannot easily multiply: an IPv4
//! address, but all of 127.0.0.0/8 as one (a local user can bind any of
//! its 16 million addresses), and an IPv6 /64 (what one host usually gets).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// The wait after the first wrong password from an address.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);

/// The longest wait: past it, doubling would only lock out the address's
/// honest users for longer.
pub const MAX_DELAY: Duration = Duration::from_secs(10);

/// Wrong passwords are forgotten this long after the last one.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

// ANCHOR: login_delay
/// How long the answer to a password waits after `failures` wrong ones from
/// the same address: nothing, then 0.1 s, 0.2 s, 0.4 s, ... up to 10 s.
pub fn login_delay(failures: u32) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => FIRST_DELAY
            .saturating_mul(1 << (n - 1).min(16))
            .min(MAX_DELAY),
    }
}
// ANCHOR_END: login_delay

/// The address the limits count under (see the module's comment).
pub fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => key(IpAddr::V4(v4)),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

/// What is known about one address.
#[derive(Debug, Default)]
struct Record {
    connections: usize,
    failures: u32,
    last_failure: Option<Instant>,
}

// ANCHOR: guard
/// Connections and wrong passwords, per address.
#[derive(Debug, Default)]
pub struct Guard {
    records: HashMap<IpAddr, Record>,
}

impl Guard {
    /// Counts a new connection from `ip`, unless the address already holds
    /// `limit`: then `false`, and the caller turns it away.
    pub fn admit(&mut self, ip: IpAddr, limit: usize) -> bool {
        let record = self.records.entry(key(ip)).or_default();
        if record.connections >= limit {
            return false;
        }
        record.connections += 1;
        true
    }

    /// A connection from `ip` has closed.
    pub fn leave(&mut self, ip: IpAddr) {
        let key = key(ip);
        if let Some(record) = self.records.get_mut(&key) {
            record.connections = record.connections.saturating_sub(1);
            if record.connections == 0 && record.failures == 0 {
                self.records.remove(&key);
            }
        }
    }

    /// How long the answer to a password from `ip` waits now.
    pub fn delay(&self, ip: IpAddr) -> Duration {
        login_delay(
            self.records
                .get(&key(ip))
                .map_or(0, |record| record.failures),
        )
    }

    /// Counts a wrong password from `ip`; returns how many there were
    /// lately, this one included.
    pub fn failed(&mut self, ip: IpAddr, now: Instant) -> u32 {
        let record = self.records.entry(key(ip)).or_default();
        record.failures = record.failures.saturating_add(1);
        record.last_failure = Some(now);
        record.failures
    }

    /// Forgets wrong passwords older than [`FORGET_AFTER`] (and addresses
    /// with nothing left to remember).
    pub fn forget_old(&mut self, now: Instant) {
        for record in self.records.values_mut() {
            let old = record
                .last_failure
                .is_some_and(|last| now.duration_since(last) >= FORGET_AFTER);
            if old {
                record.failures = 0;
                record.last_failure = None;
            }
        }
        self.records
            .retain(|_, record| record.connections > 0 || record.failures > 0);
    }
}
// ANCHOR_END: guard

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_a_tenth_of_a_second_up_to_ten() {
        let delays: Vec<u128> = (0..10).map(|n| login_delay(n).as_millis()).collect();
        assert_eq!(
            delays,
            [0, 100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]
        );
        assert_eq!(login_delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn all_of_loopback_and_an_ipv6_64_count_as_one_address() {
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.9.8.7".parse().unwrap();
        assert_eq!(key(a), key(b));
        let c: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let d: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(key(c), key(d));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn connections_are_capped_and_wrong_passwords_outlive_them() {
        let mut guard = Guard::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(guard.admit(ip, 2));
        assert!(guard.admit(ip, 2));
        assert!(!guard.admit(ip, 2));
        let now = Instant::now();
        assert_eq!(guard.failed(ip, now), 1);
        guard.leave(ip);
        guard.leave(ip);
        assert_eq!(guard.delay(ip), FIRST_DELAY);
        guard.forget_old(now + FORGET_AFTER);
        assert_eq!(guard.delay(ip), Duration::ZERO);
        assert!(guard.records.is_empty());
    }
}
