//! One module per exercise: its requirements, as black-box checks.

pub mod greenlet;
pub mod work_queues;
