//! PASV, EPSV, and the refusal of PORT and EPRT: how data connections open.
//!
//! In passive mode the *client* connects to the server: PASV (RFC 959) or
//! EPSV (RFC 2428) opens a fresh listening port on the address the client
//! already reached (loopback, for the default `--listen`) and says which;
//! the client connects to it, and that connection carries the next
//! transfer. The port's listener is registered with the same event loop as
//! everything else.
//!
//! Active mode (PORT, EPRT) is the other way round: the client names an
//! address and the server connects out to it. A server that does that can
//! be made to connect anywhere the client likes (the "FTP bounce" attack of
//! RFC 2577), so this one refuses, with 502 and the reason.

use std::io;
use std::net::{IpAddr, SocketAddr};

use mio::Interest;
use mio::net::TcpListener;

use crate::reply::Reply;
use crate::session::{Ctx, Data, Role, Session, token};

// ANCHOR: open
/// Opens a passive port on the address the client reached us on, replacing
/// any data connection offered before. Returns the port.
fn open(session: &mut Session, ctx: &mut Ctx) -> io::Result<u16> {
    session.close_data(ctx.registry);
    let mut listener = TcpListener::bind(SocketAddr::new(session.local.ip(), 0))?;
    ctx.registry.register(
        &mut listener,
        token(session.id, Role::Passive),
        Interest::READABLE,
    )?;
    let port = listener.local_addr()?.port();
    session.data = Data::Listening(listener);
    Ok(port)
}
// ANCHOR_END: open

// ANCHOR: pasv
/// PASV: `227 Entering Passive Mode (127,0,0,1,195,80)`, the address as
/// four numbers and the port as two (195 * 256 + 80 = 50000).
pub fn pasv(session: &mut Session, ctx: &mut Ctx) {
    if session.epsv_all {
        return session.reply(Reply::new(501, "EPSV ALL was sent: only EPSV may be used"));
    }
    let ip = match session.local.ip() {
        IpAddr::V4(ip) => ip,
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(ip) => ip,
            None => return session.reply(Reply::new(522, "PASV is IPv4 only: use EPSV")),
        },
    };
    match open(session, ctx) {
        Ok(port) => {
            let [a, b, c, d] = ip.octets();
            let (high, low) = (port >> 8, port & 0xff);
            let text = format!("Entering Passive Mode ({a},{b},{c},{d},{high},{low})");
            session.reply(Reply::new(227, text));
        }
        Err(e) => session.reply(Reply::new(425, format!("Cannot open a passive port: {e}"))),
    }
}

/// EPSV [1|2|ALL]: `229 Entering Extended Passive Mode (|||50000|)`. Only
/// the port is given: the client connects to the address it already uses,
/// which is why EPSV also works over IPv6.
pub fn epsv(session: &mut Session, ctx: &mut Ctx, argument: Option<&str>) {
    let family = if session.local.is_ipv4() { "1" } else { "2" };
    match argument.map(str::to_ascii_uppercase).as_deref() {
        None => {}
        Some("ALL") => {
            session.epsv_all = true;
            return session.reply(Reply::new(200, "EPSV ALL ok: only EPSV from now on"));
        }
        Some(asked) if asked == family => {}
        Some("1" | "2") => {
            let text = format!("Network protocol not supported, use ({family})");
            return session.reply(Reply::new(522, text));
        }
        Some(_) => return session.reply(Reply::new(501, "EPSV takes 1, 2 or ALL")),
    }
    match open(session, ctx) {
        Ok(port) => {
            let text = format!("Entering Extended Passive Mode (|||{port}|)");
            session.reply(Reply::new(229, text));
        }
        Err(e) => session.reply(Reply::new(425, format!("Cannot open a passive port: {e}"))),
    }
}

// ANCHOR_END: pasv

/// PORT and EPRT: refused.
pub fn active(session: &mut Session, verb: &str) {
    session.reply(Reply::new(
        502,
        format!(
            "{verb} (active mode) is not supported: the server would have to connect out \
             to an address the client names. Use PASV or EPSV"
        ),
    ));
}
