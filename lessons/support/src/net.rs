//! Listening sockets with a listen queue of a chosen length.
//!
//! Between the moment a client's connection is established by the kernel
//! and the moment the server calls `accept`, the connection waits in the
//! listening socket's queue. The standard library's `TcpListener::bind`
//! asks for a queue of 128. When a thousand clients connect at once and the
//! server is busy (or simply not scheduled), the queue fills up and the
//! kernel drops new connection requests; each of those clients tries again
//! only after a second. [`bind`] asks for a longer queue (Redis asks for
//! 511; Linux caps it at `net.core.somaxconn`, 4,096 on these machines).

use std::io;
use std::net::{TcpListener, ToSocketAddrs};

use socket2::{Domain, Socket, Type};

/// A listen queue long enough for the course's load tests.
pub const BACKLOG: i32 = 1024;

// ANCHOR: bind
/// Binds a TCP listener on `addr` (the first of its addresses that works)
/// with a listen queue of `backlog` connections.
pub fn bind(addr: impl ToSocketAddrs, backlog: i32) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in addr.to_socket_addrs()? {
        let attempt = || -> io::Result<TcpListener> {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
            // Like std: a restarted server may bind the port again at once,
            // while connections of its previous run are still closing.
            #[cfg(unix)]
            socket.set_reuse_address(true)?;
            socket.bind(&addr.into())?;
            socket.listen(backlog)?;
            Ok(socket.into())
        };
        match attempt() {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}
// ANCHOR_END: bind

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_port_zero_and_accepts() {
        let listener = bind("127.0.0.1:0", BACKLOG).unwrap();
        let addr = listener.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        let _client = std::net::TcpStream::connect(addr).unwrap();
        listener.accept().unwrap();
    }
}
