//! One module per exercise: its requirements, as black-box checks.

pub mod ftp;
pub mod greenlet;
