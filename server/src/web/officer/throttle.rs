//! Failed logins per peer address, in memory only (officers' addresses are never stored).
//! Together with the per-account lock in the store this slows guessing from one place and
//! guessing one account from many places.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub const PEER_FAILURES: u32 = 20;
pub const WINDOW_SECS: i64 = 15 * 60;

#[derive(Default)]
pub struct PeerThrottle(Mutex<HashMap<IpAddr, (u32, i64)>>);

impl PeerThrottle {
    pub fn blocked(&self, peer: IpAddr, now: i64) -> bool {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(&peer)
            .is_some_and(|(n, start)| now - start < WINDOW_SECS && *n >= PEER_FAILURES)
    }

    pub fn failed(&self, peer: IpAddr, now: i64) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, (_, start)| now - *start < WINDOW_SECS);
        let e = map.entry(peer).or_insert((0, now));
        e.0 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_forgets_after_the_window() {
        let t = PeerThrottle::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..PEER_FAILURES {
            assert!(!t.blocked(ip, 100));
            t.failed(ip, 100);
        }
        assert!(t.blocked(ip, 100));
        assert!(!t.blocked([10, 0, 0, 2].into(), 100));
        assert!(!t.blocked(ip, 100 + WINDOW_SECS));
    }
}
