//! ABOR: stop the running transfer (RFC 959, 4.1.3).
//!
//! ABOR is the one command that does not wait for a running transfer to
//! end (see `Session::on_control`). The reply sequence is the RFC's: 426
//! for the transfer that was cut short, then 226 for the ABOR itself. An
//! aborted upload's part file is deleted as the transfer is dropped.

use crate::reply::Reply;
use crate::session::{Ctx, Session};

/// ABOR.
pub fn abor(session: &mut Session, ctx: &mut Ctx) {
    if session.transferring() {
        session.fail_data(ctx, 426, "Transfer aborted");
        session.reply(Reply::new(226, "ABOR successful"));
    } else {
        session.close_data(ctx.registry);
        session.reply(Reply::new(225, "No transfer to abort"));
    }
}
