//! Waiting for the operator to stop a process (SIGINT or SIGTERM), shared
//! by `tezgram serve` and `tezgram sandbox`.

/// signal resolves on SIGINT (Ctrl-C) or, on unix, SIGTERM.
pub async fn signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
