//! One module per exercise: its requirements, as black-box checks.

pub mod ftp;
pub mod greenlet;
pub mod pipeline;
pub mod rpc_commands;
pub mod select_server;
pub mod work_queues;
