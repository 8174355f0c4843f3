//! The functional core of the control plane: given a session, the accounts, what is observed of
//! the session's worker, and the time, decide what to do. No I/O: both runtimes (local
//! processes and Kubernetes pods) call [`decide::reconcile`] and carry out its [`decide::Plan`]
//! with [`execute::execute`], each with its own [`execute::Effects`].

pub mod accounts;
pub mod conditions;
pub mod decide;
pub mod execute;

pub use accounts::{AccountInfo, Choice, choose_account};
pub use decide::{Action, Event, Observed, Plan, SessionInput, reconcile};
pub use execute::{Effects, Executed, Started, execute};
