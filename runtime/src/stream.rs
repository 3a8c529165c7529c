//! The byte stream of either side of a session: plain TCP, a unix socket, or TLS over one of
//! them. The ssl phase (`listen ... ssl`) and the upstream TLS step turn a plain stream into
//! `Stream::Tls` without the proxying code knowing; the plain stream under TLS is a
//! [`Transport`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// One side of a session.
#[derive(Debug)]
pub enum Stream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A unix-domain stream connection.
    Unix(UnixStream),
    /// TLS over another stream.
    Tls(Box<tokio_openssl::SslStream<Transport>>),
}

/// The plain stream under TLS. It notes how reading or writing it ended (nginx stops
/// sending TLS alerts once a read or write failed, `no_send_shutdown`), and a TLS shutdown
/// closes its write side too (a half close passes the end on) unless the FIN is held: the
/// session's TLS close (crate::tls::shutdown) sends close_notify, may wait for the peer's,
/// and only then closes the socket, as nginx does.
#[derive(Debug)]
pub struct Transport {
    stream: Stream,
    fin: bool,
    eof: bool,
    failed: bool,
}

impl Transport {
    /// A plain stream to run TLS over.
    pub fn new(stream: Stream) -> Transport {
        Transport { stream, fin: true, eof: false, failed: false }
    }

    /// From now on a TLS shutdown leaves the write side open; closing the socket ends it.
    pub fn hold_fin(&mut self) {
        self.fin = false;
    }

    /// True once a read met the end of the stream.
    pub fn saw_eof(&self) -> bool {
        self.eof
    }

    /// True once a read met the end of the stream or a read or write failed.
    pub fn ended(&self) -> bool {
        self.eof || self.failed
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let (before, room) = (buf.filled().len(), buf.remaining());
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        match &poll {
            Poll::Ready(Ok(())) if room > 0 && buf.filled().len() == before => this.eof = true,
            Poll::Ready(Err(_)) => this.failed = true,
            _ => {}
        }
        poll
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
        if let Poll::Ready(Err(_)) = &poll {
            this.failed = true;
        }
        poll
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.fin {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
