//! Publisher confirms: `new-task --confirm` waits until the broker says it
//! has the task, so "sent" means "safe".

use anyhow::bail;
use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Confirmation, PublisherConfirm};

// ANCHOR: confirms
/// Asks the broker to confirm every message published on this channel from
/// now on (RabbitMQ's "publisher confirms").
///
/// Without confirms, a publish is done when the message is written to the
/// socket: if the broker crashes a moment later, the message may be lost
/// and the publisher never knows. With confirms, the broker acks each
/// message once it has taken responsibility for it: for a persistent
/// message in a durable queue, once it is on disk.
pub async fn enable_confirms(channel: &Channel) -> lapin::Result<()> {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
}

/// Waits for the broker's verdict on one published message.
pub async fn wait_for_confirm(confirm: PublisherConfirm) -> anyhow::Result<()> {
    match confirm.await? {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_returned)) => bail!("the broker could not route the message"),
        Confirmation::Nack(_) => bail!("the broker refused the message (nack): it is not stored"),
        Confirmation::NotRequested => bail!("confirms are not enabled on this channel"),
    }
}
// ANCHOR_END: confirms
