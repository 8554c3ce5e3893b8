//! The `payment-identifier` extension (`@x402/extensions/payment-identifier`): a client's
//! idempotency key for a paid request.
//!
//! The same id with the same request (method, URI, body and the matched requirement) gets the
//! stored response and receipt again, never a second charge; the same id with a different
//! request is refused with 409. A request arriving while the first with its id is still being
//! served waits for it. Only served-and-settled responses are stored: a payment that failed
//! charged nothing and may be retried under the same id.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use alloy_primitives::B256;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;

/// The extension's key in `extensions`.
pub const PAYMENT_IDENTIFIER: &str = "payment-identifier";

/// Shortest and longest id (`PAYMENT_ID_MIN_LENGTH`, `PAYMENT_ID_MAX_LENGTH`).
pub const ID_LENGTH: std::ops::RangeInclusive<usize> = 16..=128;

/// Whether `id` is a valid payment identifier: 16–128 characters of `[A-Za-z0-9_-]`.
pub fn valid_id(id: &str) -> bool {
    ID_LENGTH.contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The server's declaration in `PaymentRequired.extensions`.
pub fn declaration(required: bool) -> Value {
    json!({
        "info": { "required": required },
        "schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "required": { "type": "boolean" },
                "id": { "type": "string", "minLength": 16, "maxLength": 128,
                        "pattern": "^[a-zA-Z0-9_-]+$" }
            },
            "required": ["required"]
        }
    })
}

/// The client's id in a payload's `extensions`, if any (`payment-identifier.info.id`).
pub fn id_of(extensions: Option<&serde_json::Map<String, Value>>) -> Option<&Value> {
    extensions?.get(PAYMENT_IDENTIFIER)?.get("info")?.get("id")
}

/// A stored paid response.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its status.
    pub status: StatusCode,
    /// Its headers (with the receipt).
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

enum Slot {
    InFlight {
        fingerprint: B256,
        done: watch::Receiver<()>,
    },
    Done {
        fingerprint: B256,
        response: Stored,
        at: Instant,
    },
}

/// What [`IdempotencyStore::begin`] found for an id.
pub enum Begin<'a> {
    /// New: serve the request and [`Guard::finish`] with the response.
    Fresh(Guard<'a>),
    /// Served before with the same request: answer this.
    Replay(Stored),
    /// Served (or being served) with a different request.
    Conflict,
}

/// Recent payment identifiers and their responses, bounded in number and age.
pub struct IdempotencyStore {
    slots: Mutex<(HashMap<String, Slot>, VecDeque<String>)>,
    capacity: usize,
    ttl: Duration,
}

impl std::fmt::Debug for IdempotencyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyStore")
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Default for IdempotencyStore {
    /// 10,000 ids kept for an hour.
    fn default() -> Self {
        Self::new(10_000, Duration::from_secs(3600))
    }
}

impl IdempotencyStore {
    /// A store keeping at most `capacity` ids, each for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        IdempotencyStore {
            slots: Mutex::new((HashMap::new(), VecDeque::new())),
            capacity: capacity.max(1),
            ttl,
        }
    }

    /// Looks `id` up for a request with `fingerprint`; waits while another request with the
    /// same id is being served.
    pub async fn begin(&self, id: &str, fingerprint: B256) -> Begin<'_> {
        loop {
            let mut done = {
                let Ok(mut guard) = self.slots.lock() else {
                    return Begin::Conflict;
                };
                let (slots, order) = &mut *guard;
                match slots.get(id) {
                    Some(Slot::Done {
                        fingerprint: f,
                        response,
                        at,
                    }) if at.elapsed() < self.ttl => {
                        return if *f == fingerprint {
                            Begin::Replay(response.clone())
                        } else {
                            Begin::Conflict
                        };
                    }
                    Some(Slot::InFlight {
                        fingerprint: f,
                        done,
                    }) => {
                        if *f != fingerprint {
                            return Begin::Conflict;
                        }
                        done.clone()
                    }
                    expired => {
                        let known = expired.is_some();
                        let (tx, rx) = watch::channel(());
                        slots.insert(
                            id.to_owned(),
                            Slot::InFlight {
                                fingerprint,
                                done: rx,
                            },
                        );
                        if !known {
                            order.push_back(id.to_owned());
                        }
                        self.evict(slots, order);
                        return Begin::Fresh(Guard {
                            store: self,
                            id: id.to_owned(),
                            fingerprint,
                            _done: tx,
                            finished: false,
                        });
                    }
                }
            };
            // The first request's guard drops its sender when it finishes or gives up.
            let _ = done.changed().await;
        }
    }

    fn evict(&self, slots: &mut HashMap<String, Slot>, order: &mut VecDeque<String>) {
        while slots.len() > self.capacity {
            let Some(oldest) = order.pop_front() else {
                break;
            };
            if matches!(slots.get(&oldest), Some(Slot::Done { .. })) {
                slots.remove(&oldest);
            } else {
                // Never evict a request being served; look at it again later.
                order.push_back(oldest);
                if order
                    .iter()
                    .all(|k| matches!(slots.get(k), Some(Slot::InFlight { .. })))
                {
                    break;
                }
            }
        }
    }
}

/// A fresh id being served. [`Guard::finish`] stores the response; dropping it unfinished
/// forgets the id (nothing was charged).
pub struct Guard<'a> {
    store: &'a IdempotencyStore,
    id: String,
    fingerprint: B256,
    _done: watch::Sender<()>,
    finished: bool,
}

impl Guard<'_> {
    /// Stores the paid response for replays.
    pub fn finish(mut self, response: Stored) {
        if let Ok(mut guard) = self.store.slots.lock() {
            guard.0.insert(
                self.id.clone(),
                Slot::Done {
                    fingerprint: self.fingerprint,
                    response,
                    at: Instant::now(),
                },
            );
        }
        self.finished = true;
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if !self.finished
            && let Ok(mut guard) = self.store.slots.lock()
        {
            let (slots, order) = &mut *guard;
            slots.remove(&self.id);
            order.retain(|k| k != &self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn stored(body: &'static str) -> Stored {
        Stored {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn ids_follow_the_extension_pattern() {
        assert!(valid_id("pay_7d5d747be160e280"));
        assert!(!valid_id("pay_short"));
        assert!(!valid_id("pay_abc!@#defghijklmn"));
        assert!(!valid_id(&"a".repeat(129)));
        assert!(valid_id(&"a".repeat(128)));
    }

    #[tokio::test]
    async fn same_id_replays_different_request_conflicts_failure_forgets() {
        let s = IdempotencyStore::default();
        let (a, b) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let Begin::Fresh(g) = s.begin("pay_0123456789abcdef", a).await else {
            panic!("fresh")
        };
        drop(g); // failed: forgotten
        let Begin::Fresh(g) = s.begin("pay_0123456789abcdef", a).await else {
            panic!("fresh again")
        };
        g.finish(stored("paid"));
        match s.begin("pay_0123456789abcdef", a).await {
            Begin::Replay(r) => assert_eq!(r.body, "paid"),
            _ => panic!("replay"),
        }
        assert!(matches!(
            s.begin("pay_0123456789abcdef", b).await,
            Begin::Conflict
        ));
    }

    #[tokio::test]
    async fn a_concurrent_duplicate_waits_for_the_first() {
        let s = std::sync::Arc::new(IdempotencyStore::default());
        let f = B256::repeat_byte(3);
        let Begin::Fresh(g) = s.begin("pay_concurrent_000001", f).await else {
            panic!("fresh")
        };
        let s2 = std::sync::Arc::clone(&s);
        let waiter = tokio::spawn(async move {
            match s2.begin("pay_concurrent_000001", f).await {
                Begin::Replay(r) => r.body,
                _ => panic!("expected a replay"),
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        g.finish(stored("once"));
        assert_eq!(waiter.await.unwrap(), "once");
    }

    #[tokio::test]
    async fn capacity_evicts_the_oldest_finished() {
        let s = IdempotencyStore::new(2, Duration::from_secs(60));
        for i in 0..3u8 {
            let id = format!("pay_capacity_test_{i:03}");
            let Begin::Fresh(g) = s.begin(&id, B256::repeat_byte(i)).await else {
                panic!("fresh")
            };
            g.finish(stored("x"));
        }
        // The first id was evicted: it is fresh again.
        assert!(matches!(
            s.begin("pay_capacity_test_000", B256::repeat_byte(0)).await,
            Begin::Fresh(_)
        ));
    }
}
