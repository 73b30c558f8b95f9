//! The signals that stop a server: what every `main` around [`Server::serve`](crate::Server)
//! writes otherwise.

/// Completes on Ctrl-C (`SIGINT`) or, on Unix, `SIGTERM` (what systemd, Docker and Kubernetes
/// send): the `shutdown` future for [`Server::serve`](crate::Server::serve).
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// rampart_server::Server::new()
///     .serve(listener, app, rampart_server::shutdown_signal())
///     .await
/// # }
/// ```
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
