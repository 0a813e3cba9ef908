//! The worker: takes tasks one at a time, works on each, and acks it when
//! done, with the functions of `lib.rs` (`consume_tasks`, `work_on`).

use std::time::Duration;

use lapin::Channel;
use lapin::types::ShortString;
use support::amqp::for_each_delivery;

use crate::{consume_tasks, work_on};

/// How long a `.` takes by default: one second, as in the notes.
pub const DEFAULT_MS_PER_DOT: u64 = 1000;

// ANCHOR: work_time
/// How long a task takes: `per_dot` for every `.` in its body, as the notes'
/// worker does with `time.sleep(body.count(b'.'))`.
pub fn work_time(body: &[u8], per_dot: Duration) -> Duration {
    let dots = body.iter().filter(|&&byte| byte == b'.').count();
    // Saturating: a body of a million dots is a long task, not a crash.
    per_dot.saturating_mul(u32::try_from(dots).unwrap_or(u32::MAX))
}
// ANCHOR_END: work_time

/// How a worker works.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// How long one `.` of a task takes. A second in the notes; tests make
    /// it a few milliseconds.
    pub per_dot: Duration,
    /// How many unacked tasks the broker may hand this worker at once.
    /// 1 is fair dispatch; 0 means no limit (the broker's default).
    pub prefetch: u16,
}

// ANCHOR: worker
/// Takes tasks from `queue` one at a time, works on each, and acks it when
/// done, until Ctrl-C.
pub async fn run_worker(
    channel: &Channel,
    queue: &ShortString,
    config: WorkerConfig,
) -> anyhow::Result<()> {
    let consumer = consume_tasks(channel, queue, config.prefetch).await?;
    println!(" [*] Waiting for messages. To exit press CTRL+C");

    for_each_delivery(consumer, |delivery| async move {
        let task = String::from_utf8_lossy(&delivery.data);
        // The broker sets `redelivered` on a message it has handed out
        // before: some consumer got it and never acked it.
        let note = if delivery.redelivered {
            " (redelivered: an earlier worker did not ack it)"
        } else {
            ""
        };
        println!(" [x] Received {task:?}{note}");
        work_on(&delivery, config.per_dot).await?;
        println!(" [x] Done");
        Ok(())
    })
    .await
}
// ANCHOR_END: worker

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dot_is_one_unit_of_work() {
        let second = Duration::from_secs(1);
        assert_eq!(work_time(b"Hello", second), Duration::ZERO);
        assert_eq!(work_time(b"First message.", second), second);
        assert_eq!(work_time(b"Fifth message.....", second), 5 * second);
        assert_eq!(
            work_time(b"...", Duration::from_millis(10)),
            Duration::from_millis(30)
        );
        assert_eq!(work_time(&[b'.'; 10], Duration::MAX), Duration::MAX);
    }
}
