//! A connection's open transactions (1.2 "BEGIN", "COMMIT", "ABORT"): the SENDs, ACKs and
//! NACKs held under each until COMMIT applies them in order or ABORT drops them, within
//! `max_transactions` and `max_transaction_frames`.
//!
//! Owns: the held frames and the two limits. Must not: apply a frame itself (the connection
//! does, at COMMIT), do I/O or read a clock.

use std::collections::HashMap;

use crate::stomp::command::{self, Ack};
use crate::stomp::error::StompError;

/// A frame held until its transaction commits.
pub(super) enum Pending {
    /// A SEND.
    Send(command::Send),
    /// An ACK, or with `true` a NACK.
    Ack(Ack, bool),
}

/// The open transactions of one connection, by name.
pub(super) struct Transactions {
    open: HashMap<String, Vec<Pending>>,
    max_open: usize,
    max_frames: usize,
}

impl Transactions {
    /// None open; at most `max_open` at once, each holding at most `max_frames`.
    pub(super) fn new(max_open: usize, max_frames: usize) -> Self {
        Transactions {
            open: HashMap::new(),
            max_open,
            max_frames,
        }
    }

    /// BEGIN `tx`.
    pub(super) fn begin(&mut self, tx: String) -> Result<(), StompError> {
        if self.open.contains_key(&tx) {
            return Err(StompError::DuplicateTransaction(tx));
        }
        if self.open.len() >= self.max_open {
            return Err(StompError::TransactionLimit(self.max_open));
        }
        self.open.insert(tx, Vec::new());
        Ok(())
    }

    /// Holds `op` under `tx` until it commits.
    pub(super) fn hold(&mut self, tx: &str, op: Pending) -> Result<(), StompError> {
        let ops = self
            .open
            .get_mut(tx)
            .ok_or_else(|| StompError::UnknownTransaction(tx.to_owned()))?;
        if ops.len() >= self.max_frames {
            return Err(StompError::TransactionLimit(self.max_frames));
        }
        ops.push(op);
        Ok(())
    }

    /// COMMIT `tx`: what it held, in order, for the connection to apply.
    pub(super) fn commit(&mut self, tx: String) -> Result<Vec<Pending>, StompError> {
        self.open
            .remove(&tx)
            .ok_or(StompError::UnknownTransaction(tx))
    }

    /// ABORT `tx`: what it held is dropped.
    pub(super) fn abort(&mut self, tx: String) -> Result<(), StompError> {
        self.commit(tx).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(id: &str) -> Pending {
        let ack = Ack {
            id: id.to_owned(),
            transaction: Some("t".to_owned()),
        };
        Pending::Ack(ack, false)
    }

    #[test]
    fn a_transaction_holds_frames_in_order_until_commit_and_none_after_abort() {
        let mut t = Transactions::new(2, 8);
        t.begin("t".into()).unwrap();
        t.hold("t", ack("1")).unwrap();
        t.hold("t", ack("2")).unwrap();
        let held = t.commit("t".into()).unwrap();
        let ids: Vec<_> = held
            .iter()
            .map(|p| match p {
                Pending::Ack(a, _) => a.id.as_str(),
                Pending::Send(_) => "send",
            })
            .collect();
        assert_eq!(ids, ["1", "2"]);
        t.begin("t".into()).unwrap();
        t.abort("t".into()).unwrap();
        assert_eq!(
            t.commit("t".into()).err(),
            Some(StompError::UnknownTransaction("t".into()))
        );
    }

    #[test]
    fn both_limits_and_unknown_or_repeated_names_are_errors() {
        let mut t = Transactions::new(1, 1);
        t.begin("a".into()).unwrap();
        assert_eq!(
            t.begin("a".into()),
            Err(StompError::DuplicateTransaction("a".into()))
        );
        assert_eq!(t.begin("b".into()), Err(StompError::TransactionLimit(1)));
        t.hold("a", ack("1")).unwrap();
        assert_eq!(t.hold("a", ack("2")), Err(StompError::TransactionLimit(1)));
        assert_eq!(
            t.hold("z", ack("3")),
            Err(StompError::UnknownTransaction("z".into()))
        );
        assert_eq!(
            t.abort("z".into()),
            Err(StompError::UnknownTransaction("z".into()))
        );
    }
}
