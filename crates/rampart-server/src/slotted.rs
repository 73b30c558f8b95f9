//! The socket of a connection, holding the connection's place under the cap for as long as the
//! socket lives.
//!
//! An upgraded connection (a WebSocket) outlives the HTTP connection that served its handshake:
//! hyper hands the socket to the handler and the connection's task ends. Were the slot held by
//! that task, every upgraded socket would leave the cap at once, and a client could open as
//! many as the process has file descriptors. Held by the socket, the slot goes when the socket
//! is closed. So does whatever a layer asked to keep for as long as an upgraded socket lives
//! (`rampart_core::upgrade::UpgradeGuard`: the metrics layer's count of open WebSockets).

use pin_project_lite::pin_project;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use crate::activity::Activity;
use crate::registry::Tenancy;

pin_project! {
    /// A connection's socket and its slot under the connection cap.
    pub(crate) struct SlottedStream {
        #[pin]
        stream: TcpStream,
        slot: OwnedSemaphorePermit,
        // The socket's count against its address's share.
        tenancy: Tenancy,
        // Counts what is read; holds what the layers asked to keep while an upgraded socket lives.
        activity: Arc<Activity>,
    }
}

impl SlottedStream {
    pub(crate) fn new(
        stream: TcpStream,
        slot: OwnedSemaphorePermit,
        tenancy: Tenancy,
        activity: Arc<Activity>,
    ) -> Self {
        Self {
            stream,
            slot,
            tenancy,
            activity,
        }
    }
}

impl AsyncRead for SlottedStream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let read = this.stream.poll_read(cx, buf);
        this.activity
            .read(buf.filled().len().saturating_sub(before));
        read
    }
}

impl AsyncWrite for SlottedStream {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().stream.poll_write(cx, buf)
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().stream.poll_flush(cx)
    }

    #[inline]
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().stream.poll_shutdown(cx)
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().stream.poll_write_vectored(cx, bufs)
    }

    #[inline]
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
