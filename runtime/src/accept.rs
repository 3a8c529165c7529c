//! Accepting TCP connections in a worker's event loop as nginx accepts them: a new
//! connection is read only once epoll reports data on it.

use std::io;
use std::net::SocketAddr;
use tokio::io::unix::AsyncFd;

/// A listening TCP socket registered with the current worker's event loop.
///
/// tokio's own `TcpListener` marks every accepted connection readable at once, so a session
/// whose client has not sent anything yet (or whose upstream speaks first) starts with a
/// read that finds nothing. nginx reads a new connection only when epoll reports data, and
/// so does a connection accepted here. The connection is handed back unregistered, so the
/// worker that will run its session is the only one to register it.
#[derive(Debug)]
pub(crate) struct TcpAcceptor {
    socket: AsyncFd<mio::net::TcpListener>,
}

impl TcpAcceptor {
    /// Registers `listener` (non-blocking) with the current event loop, for reading only.
    pub(crate) fn new(listener: std::net::TcpListener) -> io::Result<TcpAcceptor> {
        let socket = crate::sys::register_listener(mio::net::TcpListener::from_std(listener))?;
        Ok(TcpAcceptor { socket })
    }

    /// The next connection (`accept4` with `SOCK_NONBLOCK`), not registered with any loop.
    pub(crate) async fn accept(&self) -> io::Result<(std::net::TcpStream, SocketAddr)> {
        loop {
            let mut ready = self.socket.readable().await?;
            // A would-block clears the readiness and waits for the next report.
            if let Ok(accepted) = ready.try_io(|socket| socket.get_ref().accept()) {
                return accepted.map(|(stream, peer)| (stream.into(), peer));
            }
        }
    }

    /// Deregisters the socket and hands it back, still listening, for the next plan.
    pub(crate) fn into_std(self) -> std::net::TcpListener {
        self.socket.into_inner().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::io::Interest;

    #[tokio::test]
    async fn an_accepted_connection_is_read_only_when_it_holds_data() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = TcpAcceptor::new(listener).unwrap();

        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let (stream, peer) = acceptor.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());

        // Not readable before the client sends; readable once it has.
        let stream = tokio::net::TcpStream::from_std(stream).unwrap();
        let ready = stream.ready(Interest::READABLE);
        let idle = tokio::time::timeout(std::time::Duration::from_millis(50), ready).await;
        assert!(idle.is_err(), "a silent connection reported readable: {idle:?}");
        client.write_all(b"x").unwrap();
        stream.readable().await.unwrap();
        let mut byte = [0u8; 1];
        assert_eq!(stream.try_read(&mut byte).unwrap(), 1);

        // The socket goes back still listening.
        let listener = acceptor.into_std();
        let _second = std::net::TcpStream::connect(addr).unwrap();
        listener.set_nonblocking(false).unwrap();
        assert!(listener.accept().is_ok());
    }
}
