//! Helpers the integration tests share: a real `cockpit serve` and its clients ([`harness`]),
//! an HTTP-level Kubernetes API server ([`apiserver`]) and kubelet ([`kubelet`]), a throwaway
//! PostgreSQL server ([`pg`]), and a Web Push receiver ([`webpush`]).

pub mod apiserver;
pub mod harness;
pub mod kubelet;
pub mod pg;
pub mod webpush;
